"""A small hand-written corpus of three topics, where the right order for a reader is obvious."""

from __future__ import annotations

from tests.helpers import daily_item

KV = [
    (
        "2412.10001",
        "KV cache compression for long context inference",
        "We compress the key value cache of transformer attention to speed up long context "
        "inference with little loss.",
        ("kv cache", "long context"),
    ),
    (
        "2412.10002",
        "Quantized KV cache for fast decoding",
        "Quantizing the key value cache of attention layers cuts decoding memory.",
        ("kv cache", "quantization"),
    ),
    (
        "2412.10003",
        "Evicting tokens from the KV cache",
        "Token eviction keeps the key value cache small during long context generation.",
        ("kv cache", "token eviction"),
    ),
    (
        "2412.10004",
        "Sharing the KV cache across layers",
        "Layers share one key value cache, shrinking attention memory for long context.",
        ("kv cache", "attention"),
    ),
    (
        "2412.10005",
        "Paged attention and the KV cache",
        "Paging the key value cache lets inference servers batch long context requests.",
        ("kv cache", "inference serving"),
    ),
]
DIFFUSION = [
    (
        "2412.20001",
        "Diffusion models for image generation",
        "A denoising diffusion model generates images from text prompts.",
        ("diffusion", "image generation"),
    ),
    (
        "2412.20002",
        "Faster sampling for image diffusion",
        "Fewer denoising steps make diffusion image generation fast.",
        ("diffusion", "sampling"),
    ),
    (
        "2412.20003",
        "Video diffusion with temporal layers",
        "Temporal layers extend image diffusion models to video generation.",
        ("diffusion", "video generation"),
    ),
    (
        "2412.20004",
        "Guidance for text to image diffusion",
        "Classifier free guidance steers denoising diffusion towards the prompt.",
        ("diffusion", "guidance"),
    ),
]
ROBOTS = [
    (
        "2412.30001",
        "Robot grasping from demonstrations",
        "A robot arm learns grasping and manipulation from human demonstrations.",
        ("robot manipulation", "grasping"),
    ),
    (
        "2412.30002",
        "Legged robot locomotion",
        "Reinforcement learning teaches a legged robot to walk on rough terrain.",
        ("locomotion", "reinforcement learning"),
    ),
]


# Featured the day before the others: what a reader rated, and one robot paper shown then.
EARLIER = {KV[0][0], KV[1][0], KV[2][0], DIFFUSION[0][0], DIFFUSION[1][0], ROBOTS[0][0]}


def items() -> list[dict[str, object]]:
    """Daily items of the corpus; diffusion papers have the most upvotes, KV cache the fewest."""
    out = []
    for group, upvotes in ((KV, 3), (DIFFUSION, 90), (ROBOTS, 20)):
        for i, (pid, title, abstract, keywords) in enumerate(group):
            day = "2024-12-23" if pid in EARLIER else "2024-12-24"
            out.append(
                daily_item(
                    pid, title, day=day, abstract=abstract, keywords=keywords, upvotes=upvotes + i
                )
            )
    return out
