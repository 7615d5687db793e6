"""Files for a user (`export saved`): uploaded into their DM with the app (files_upload_v2).

A slash command's answers go through its response_url, which carries no files, and a file
shared in the channel where the command was typed would show everyone a personal list; so
the file goes to the caller's DM with the app, and the answer says where it is.
"""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.messages import FileReply, Notice, Reply, Tone

log = logging.getLogger(__name__)

NO_SCOPE = (
    "paperbot cannot send files in this workspace: the app lacks the files:write scope. "
    "Ask a workspace admin to add it (the app's manifest lists it) and reinstall the app."
)
FAILED = "Slack did not take the file. Please try again later."


async def send_files(replies: list[Reply], user_id: str, client: AsyncWebClient) -> list[Reply]:
    """Upload each FileReply to the user's DM; replace it with a notice saying how it went.

    `user_id` is Slack's own user id (U…), not the workspace-joined one of bot.messages.
    """
    out: list[Reply] = []
    for reply in replies:
        out.append(await upload(reply, user_id, client) if isinstance(reply, FileReply) else reply)
    return out


async def upload(reply: FileReply, user_id: str, client: AsyncWebClient) -> Notice:
    try:
        opened = await client.conversations_open(users=user_id)
        channel = str((opened.get("channel") or {}).get("id", ""))
        await client.files_upload_v2(
            channel=channel,
            content=reply.content,
            filename=reply.filename,
            title=reply.filename,
            # Plain text from the core: no <!here>, no links; Slack reads it as mrkdwn.
            initial_comment=_plain(reply.text),
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        log.warning("file upload to %s failed: %s", user_id, error or exc)
        if error == "missing_scope":
            return Notice(NO_SCOPE, tone=Tone.ERROR, ephemeral=True)
        return Notice(FAILED, tone=Tone.ERROR, ephemeral=True)
    except (SlackClientError, OSError) as exc:
        log.warning("file upload to %s failed: %s", user_id, exc)
        return Notice(FAILED, tone=Tone.ERROR, ephemeral=True)
    return Notice(
        f"{reply.text} Sent {reply.filename} to your direct messages with paperbot.",
        tone=Tone.SUCCESS,
        ephemeral=True,
    )


def _plain(text: str) -> str:
    # Slack's own escaping of the three characters it reads as markup: nothing pings.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
