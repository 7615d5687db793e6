"""Query trees compiled into one shared, compact program of flat arrays.

Every distinct node of every query is one instruction, children before parents: equal
subtrees (the same term in 10,000 queries, the same query for 100,000 subscriptions) are
compiled once. An instruction is an opcode and a run of int operands (a leaf number, or
child instructions), kept in three arrays rather than a Python object per node, so a
million subscriptions' queries fit in a few megabytes.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable

from bot.query import Author, Leaf, Node, Not, Text, Upvotes
from bot.query.ast import And, Or

LEAF, NOT, AND, OR = range(4)


class Program:
    """Interned instructions over interned leaves; grows while compiling, then read-only."""

    __slots__ = ("_by_id", "_memo", "leaves", "operands", "ops", "starts")

    def __init__(self) -> None:
        self.ops = array("B")  # per instruction: LEAF, NOT, AND or OR
        self.starts = array("I", [0])  # instruction i's operands: operands[starts[i]:starts[i+1]]
        self.operands = array("I")
        self.leaves: list[Leaf] = []
        # Leaf -> instruction, and (op, *children) -> instruction: dropped by `freeze`.
        self._memo: dict[object, int] | None = {}
        # Leaf objects seen -> (the leaf, its instruction): stored forms read through one
        # `QueryCache` share their leaves, so most lookups are one int hash. Holding the
        # leaf keeps its id from being reused while compiling.
        self._by_id: dict[int, tuple[Node, int]] = {}

    def __len__(self) -> int:
        return len(self.ops)

    def compile(self, node: Node) -> int:
        """Return the instruction computing `node`, adding what is missing."""
        memo = self._memo
        assert memo is not None, "a frozen program is read-only"
        kind = type(node)
        if kind is Not:
            child = self.compile(node.child)  # type: ignore[union-attr]
            if self.ops[child] == NOT:  # --x is x
                return self.operands[self.starts[child]]
            key: object = (NOT, child)
        elif kind is And or kind is Or:
            kids = sorted(set(map(self.compile, node.children)))  # type: ignore[union-attr]
            if len(kids) == 1:  # (x) and (x x) are x
                return kids[0]
            key = (AND if kind is And else OR, *kids)
        else:  # a leaf: equal leaves are one, keyed by a plain tuple (hashed and compared in C)
            seen = self._by_id.get(id(node))
            if seen is not None:
                return seen[1]
            key = _leaf_key(node)  # type: ignore[arg-type]
            found = memo.get(key)
            if found is None:
                self.leaves.append(node)  # type: ignore[arg-type]
                found = memo[key] = self._emit(LEAF, (len(self.leaves) - 1,))
            self._by_id[id(node)] = (node, found)
            return found
        found = memo.get(key)
        if found is None:
            found = memo[key] = self._emit(key[0], key[1:])  # type: ignore[index]
        return found

    def _emit(self, op: int, operands: Iterable[int]) -> int:
        self.ops.append(op)
        self.operands.extend(operands)
        self.starts.append(len(self.operands))
        return len(self.ops) - 1

    def freeze(self) -> None:
        """Drop the compile-time tables: the program is read-only from now on."""
        self._memo = None
        self._by_id = {}

    def evaluate(self, leaf_bits: list[int], full: int) -> list[int]:
        """Return every instruction's value: the bitset of papers it holds for."""
        ops, starts, operands = self.ops, self.starts, self.operands
        values = [0] * len(ops)
        for i, op in enumerate(ops):
            s, e = starts[i], starts[i + 1]
            if op == LEAF:
                values[i] = leaf_bits[operands[s]]
            elif op == NOT:
                values[i] = full & ~values[operands[s]]
            elif op == AND:
                v = values[operands[s]]
                for k in range(s + 1, e):
                    if not v:
                        break
                    v &= values[operands[k]]
                values[i] = v
            else:
                v = 0
                for k in range(s, e):
                    v |= values[operands[k]]
                values[i] = v
        return values

    def tree(self, instruction: int) -> Node:
        """Return the query tree an instruction computes (for checks and debugging)."""
        op, s, e = self.ops[instruction], self.starts[instruction], self.starts[instruction + 1]
        if op == LEAF:
            return self.leaves[self.operands[s]]
        if op == NOT:
            return Not(self.tree(self.operands[s]))
        kids = tuple(self.tree(self.operands[k]) for k in range(s, e))
        return And(kids) if op == AND else Or(kids)

    def positive_leaves(self, root: int, key: Callable[[int], str]) -> list[int]:
        """Return the leaves of `root` not under an odd number of NOTs, sorted by `key`."""
        ops, starts, operands = self.ops, self.starts, self.operands
        found: set[int] = set()
        seen: set[tuple[int, bool]] = set()
        stack = [(root, False)]
        while stack:
            item = stack.pop()
            if item in seen:  # a shared subtree is walked once per polarity
                continue
            seen.add(item)
            node, negated = item
            op, s, e = ops[node], starts[node], starts[node + 1]
            if op == LEAF:
                if not negated:
                    found.add(operands[s])
            elif op == NOT:
                stack.append((operands[s], not negated))
            else:
                stack.extend((operands[k], negated) for k in range(s, e))
        return sorted(found, key=key)


def _leaf_key(leaf: Leaf) -> tuple[object, ...]:
    # Negative tags: never equal to an (op, *children) key, whose first item is an op >= 0.
    if type(leaf) is Text:
        return (-1, leaf.field, leaf.tokens, leaf.fuzzy)
    if type(leaf) is Author:
        return (-2, leaf.name.given, leaf.name.surname)
    if type(leaf) is Upvotes:
        return (-3, leaf.op, leaf.value)
    # The paper facts: each renders to its own canonical text, which says all it holds.
    return (-4, type(leaf).__name__, str(leaf))
