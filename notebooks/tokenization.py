# %% [markdown] tags=["en"]
# # Tokenization
#
# This notebook trains a byte-level BPE tokenizer from scratch on the handbook's own English pages, checks
# that it learns exactly the merges of Hugging Face `tokenizers` trained with the same settings, and uses
# the `transformers` tokenizer API on locally built BPE and WordPiece tokenizers. It then compares
# sequence lengths of word, character, byte and subword schemes in English and in Chinese (jieba). It
# illustrates the answers on [what tokenization is](../tokenization-embeddings.md#what-is-tokenization),
# [word, character and subword tokenization](../tokenization-embeddings.md#tokenization-strategies),
# [BPE](../tokenization-embeddings.md#bpe-algorithm),
# [WordPiece, Unigram and SentencePiece](../tokenization-embeddings.md#wordpiece-unigram-sentencepiece),
# [special tokens](../tokenization-embeddings.md#special-tokens),
# [multilingual tokenization](../tokenization-embeddings.md#multilingual-tokenization) and
# [training a tokenizer](../tokenization-embeddings.md#tokenizer-tools-training). Every check is an
# `assert`, so a wrong implementation fails the build.

# %% [markdown] tags=["zh"]
# # 分词
#
# 本 notebook 在手册自己的英文页面上从零训练一个字节级 BPE 分词器（Tokenizer），验证它学到的合并规则与用相同设置训练的
# Hugging Face `tokenizers` 完全一致，再在本地构建的 BPE 和 WordPiece 分词器上演示 `transformers` 的分词器接口。
# 最后比较英文和中文（jieba）文本在词级、字符级、字节级和子词级方案下的序列长度。对应问答页中的
# [什么是分词](../tokenization-embeddings.md#what-is-tokenization)、
# [词、字符与子词分词](../tokenization-embeddings.md#tokenization-strategies)、
# [BPE](../tokenization-embeddings.md#bpe-algorithm)、
# [WordPiece、Unigram 与 SentencePiece](../tokenization-embeddings.md#wordpiece-unigram-sentencepiece)、
# [特殊 token](../tokenization-embeddings.md#special-tokens)、
# [多语言分词](../tokenization-embeddings.md#multilingual-tokenization)和
# [训练分词器](../tokenization-embeddings.md#tokenizer-tools-training)等题。
# 每项校验都是一条 `assert`，实现有误时构建会直接失败。

# %%
import heapq
import json
import logging
import re
import sys
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import jieba
import matplotlib.pyplot as plt
from _figures import show

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, imported by transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import PreTrainedTokenizerFast

jieba.setLogLevel(logging.WARNING)  # no "Building prefix dict" chatter in the output

DOCS = Path("..") / "docs"
HELD_OUT = "decoding.md"  # one page, in both languages, that no tokenizer sees during training


def page_texts(lang):
    """Text of every page of one language except the held-out page."""
    return [p.read_text(encoding="utf-8") for p in sorted((DOCS / lang).glob("*.md")) if p.name != HELD_OUT]


def without_code(markdown):
    """Drop fenced code blocks: they are the same in both languages."""
    return re.sub(r"```.*?```", "", markdown, flags=re.S)


EAST_ASIAN_OR_EMOJI = re.compile(r"[\u2e80-\U0010ffff]")  # CJK, kana, Hangul, emoji, ...


def english_only(text):
    """Drop the lines that quote Chinese or emoji: the English tokenizers see English only."""
    return "\n".join(line for line in text.splitlines() if not EAST_ASIAN_OR_EMOJI.search(line))


train_en, train_zh = [english_only(t) for t in page_texts("en")], page_texts("zh")
held_en = without_code((DOCS / "en" / HELD_OUT).read_text(encoding="utf-8"))
held_zh = without_code((DOCS / "zh" / HELD_OUT).read_text(encoding="utf-8"))
print(f"training text: {len(train_en)} English pages, {sum(map(len, train_en)):,} characters")
print(f"held-out page {HELD_OUT}: {len(held_en):,} characters (en), {len(held_zh):,} characters (zh)")

# %% [markdown] tags=["en"]
# ## Byte-level pre-tokenization { #byte-level-pretokenization }
#
# GPT-2 tokenizes in two stages (*Language Models are Unsupervised Multitask Learners*, Radford et al.,
# 2019). A regular expression first cuts the text into pre-tokens: a contraction, a run of letters, a run
# of digits, a run of other symbols, each with at most one leading space, or whitespace. Merges never
# cross these boundaries, so BPE cannot learn `dog.` or `dog!` as tokens. Then each pre-token is turned
# into its UTF-8 bytes, and every byte is shown as a printable character, so merges can be stored as text:
# the 188 printable bytes stand for themselves and the other 68 (space, control bytes, …) are shifted to
# code points from 256 on. The space byte becomes `Ġ` and the newline `Ċ`.
#
# Python's `re` has no `\p{L}` (letters) or `\p{N}` (numbers). Its `\w` is letters, numbers and `_`, and
# `\d` is the decimal digits only, so we list the other numbers (`²`, `½`, `Ⅻ`) explicitly. The check
# compares our pre-tokens with those of `tokenizers`' `ByteLevel` pre-tokenizer on every page of both
# languages.

# %% [markdown] tags=["zh"]
# ## 字节级预分词 { #byte-level-pretokenization }
#
# GPT-2 的分词分两步（*Language Models are Unsupervised Multitask Learners*，Radford 等，2019）。先用正则表达式把文本切成
# 预分词单元（Pre-token）：缩写后缀、一串字母、一串数字、一串其他符号（各自最多带一个前导空格），或者一段空白。
# 合并规则不会跨越这些边界，所以 BPE 学不出 `dog.`、`dog!` 这类 token。然后把每个预分词单元转成 UTF-8 字节，
# 并把每个字节映射成一个可打印字符，这样合并规则就能以文本形式保存：188 个可打印字节映射为自身，
# 其余 68 个（空格、控制字节等）平移到 256 以后的码位。空格字节变成 `Ġ`，换行变成 `Ċ`。
#
# Python 的 `re` 不支持 `\p{L}`（字母）和 `\p{N}`（数字）。它的 `\w` 包含字母、数字和 `_`，而 `\d` 只包含十进制数字，
# 因此其他数字字符（`²`、`½`、`Ⅻ`）需要单独列出。校验时把我们的预分词结果与 `tokenizers` 中 `ByteLevel`
# 预分词器在两种语言所有页面上的结果逐一比对。

# %%
def bytes_to_unicode():
    """GPT-2's table: each of the 256 byte values -> one printable character."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {b: chr(b) for b in printable}
    shifted = (b for b in range(256) if b not in table)
    table |= {b: chr(256 + n) for n, b in enumerate(shifted)}
    return table


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def char_class(chars):
    """Regex class body for a set of characters, as ranges (much faster to match than 1000 single chars)."""
    spans = []
    for code in sorted(map(ord, chars)):
        if spans and code == spans[-1][1] + 1:
            spans[-1][1] = code
        else:
            spans.append([code, code])
    return "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in spans)


# \w minus letters minus decimal digits = the other numbers (categories Nl, No)
OTHER_NUMBERS = char_class(c for c in map(chr, range(sys.maxunicode + 1))
                           if c.isalnum() and not c.isalpha() and not c.isdecimal())
LETTERS, NUMBERS = rf"[^\W\d_{OTHER_NUMBERS}]", rf"[\d{OTHER_NUMBERS}]"
GPT2_SPLIT = re.compile(
    rf"""'(?:[st]|re|ve|m|ll|d)| ?{LETTERS}+| ?{NUMBERS}+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""
)


def to_byte_chars(piece):
    """'é' -> 'Ã©': the UTF-8 bytes of the piece, one printable character per byte."""
    return "".join(BYTE_TO_CHAR[b] for b in piece.encode("utf-8"))


def pre_tokenize(text):
    """Text -> GPT-2 pre-tokens in byte-character form."""
    return [to_byte_chars(piece) for piece in GPT2_SPLIT.findall(text)]


example = "GPT-2 doesn't see  words: it sees bytes, 3.14 and 你好 🤗!\n"
hf_byte_level = pre_tokenizers.ByteLevel(add_prefix_space=False)
print(GPT2_SPLIT.findall(example))
print(pre_tokenize(example))
assert pre_tokenize(example) == [piece for piece, _ in hf_byte_level.pre_tokenize_str(example)]
assert len(BYTE_TO_CHAR) == len(CHAR_TO_BYTE) == 256 and BYTE_TO_CHAR[ord(" ")] == "Ġ"

for text in train_en + train_zh + [held_en, held_zh]:
    assert pre_tokenize(text) == [piece for piece, _ in hf_byte_level.pre_tokenize_str(text)]
print("our pre-tokens equal tokenizers' ByteLevel pre-tokenizer on every page, English and Chinese")

# %% [markdown] tags=["en"]
# ## BPE training from scratch { #bpe-from-scratch }
#
# Training follows the answer on [BPE](../tokenization-embeddings.md#bpe-algorithm): count the pre-tokens,
# split each into its byte characters, then repeatedly merge the most frequent adjacent pair, counting
# each pair once per occurrence weighted by the word count. Recounting every pair after every merge
# would cost a pass over the corpus per merge, so the trainer keeps an index from each pair to the words
# that contain it and updates only those words. A heap gives the most frequent pair; entries whose count
# has changed since they were pushed are skipped.
#
# Ties need a rule to be reproducible. Like `tokenizers`, we break them by token id: the special token
# first, then the 256 byte characters sorted by code point, then merged tokens in the order they were
# created; among equally frequent pairs the one with the smallest (left id, right id) wins.

# %% [markdown] tags=["zh"]
# ## 从零训练 BPE { #bpe-from-scratch }
#
# 训练过程与 [BPE](../tokenization-embeddings.md#bpe-algorithm) 一题的回答一致：统计预分词单元的频次，把每个单元拆成字节字符，
# 然后反复合并最频繁的相邻符号对；每个符号对按出现次数计数，并乘以所在单词的频次。如果每次合并后都重新统计全部符号对，
# 每次合并都要扫描一遍语料，所以训练器维护一个从符号对到包含它的单词的索引，只更新这些单词。用堆（Heap）取出最频繁的符号对，
# 入堆后计数已经变化的条目直接跳过。
#
# 频次相同时需要固定的规则才能复现结果。我们与 `tokenizers` 一样按 token id 打破平局：先是特殊 token，
# 然后是按码位排序的 256 个字节字符，再是按生成顺序排列的合并 token；频次相同的符号对中，按（左 id，右 id）比较，最小的胜出。

# %%
def merge_pair(symbols, pair, new_symbol):
    """Replace every non-overlapping occurrence of `pair`, left to right."""
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(new_symbol)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def train_bpe(word_counts, vocab_size, special_tokens=("<|endoftext|>",)):
    """word_counts: {pre-token in byte characters: count}. Returns (merges, vocab)."""
    id_to_token = [*special_tokens, *sorted(BYTE_TO_CHAR.values())]
    vocab = {token: i for i, token in enumerate(id_to_token)}
    words = [[vocab[c] for c in word] for word in word_counts]  # words as lists of token ids
    counts = list(word_counts.values())

    pair_counts, words_with = Counter(), defaultdict(set)
    for w, (ids, count) in enumerate(zip(words, counts)):
        for pair in zip(ids, ids[1:]):
            pair_counts[pair] += count
            words_with[pair].add(w)
    heap = [(-count, pair) for pair, count in pair_counts.items()]  # most frequent, then smallest ids
    heapq.heapify(heap)

    merges = []
    while len(vocab) < vocab_size and heap:
        neg_count, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -neg_count:  # stale entry: the count changed since the push
            continue
        new_token = id_to_token[pair[0]] + id_to_token[pair[1]]
        if new_token not in vocab:  # two different pairs can spell the same string
            vocab[new_token] = len(id_to_token)
            id_to_token.append(new_token)
        merges.append((id_to_token[pair[0]], id_to_token[pair[1]]))

        changed = set()
        for w in words_with.pop(pair):  # only the words that contain the pair
            before = Counter(zip(words[w], words[w][1:]))
            words[w] = merge_pair(words[w], pair, vocab[new_token])
            after = Counter(zip(words[w], words[w][1:]))
            for p in before.keys() | after.keys():
                if delta := after[p] - before[p]:
                    pair_counts[p] += delta * counts[w]
                    changed.add(p)
                    if delta > 0:
                        words_with[p].add(w)
        for p in changed:
            if pair_counts[p] > 0:
                heapq.heappush(heap, (-pair_counts[p], p))
            else:
                del pair_counts[p]
    return merges, vocab


# %% [markdown] tags=["en"]
# First the worked example from the question page: word counts hug ×10, pug ×5, pun ×12, bun ×4,
# hugs ×5. The first three merges must be u+g (20), u+n (16) and h+ug (15).

# %% [markdown] tags=["zh"]
# 先用问答页上的例子：hug ×10、pug ×5、pun ×12、bun ×4、hugs ×5。前三次合并必须依次是 u+g（20）、u+n（16）和
# h+ug（15）。

# %%
toy_merges, toy_vocab = train_bpe({"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5}, vocab_size=257 + 3)
print(toy_merges)
assert toy_merges == [("u", "g"), ("u", "n"), ("h", "ug")]

# %% [markdown] tags=["en"]
# Now the real corpus: every English page except the held-out one, without the few lines that quote
# Chinese or emoji, so that the English tokenizers see English only. The vocabulary has 2000 tokens
# (1 special token, 256 bytes, 1743 merges).

# %% [markdown] tags=["zh"]
# 然后是真实语料：除留出页以外的所有英文页面，并去掉其中引用中文或 emoji 的少数几行，让英文分词器只见过英文。
# 词表大小 2000（1 个特殊 token、256 个字节、1743 次合并）。

# %%
VOCAB_SIZE = 2000
word_counts_en = Counter(pre_token for text in train_en for pre_token in pre_tokenize(text))
merges, vocab = train_bpe(word_counts_en, VOCAB_SIZE)
assert len(vocab) == VOCAB_SIZE and len(merges) == VOCAB_SIZE - 257
print(f"{len(word_counts_en):,} distinct pre-tokens, {sum(word_counts_en.values()):,} in total")
print("first merges:", [a + b for a, b in merges[:12]])
print("longest tokens:", sorted(vocab, key=len)[-6:])

# %% [markdown] tags=["en"]
# ## Encoding and decoding { #encode-decode }
#
# Encoding replays the merges by rank: within each pre-token, merge the adjacent pair that was learned
# earliest, until no learned pair is left. It is not a longest-match search. Decoding concatenates the
# tokens, maps each character back to its byte and decodes the bytes as UTF-8. Because every byte is in
# the base vocabulary, any string encodes without `[UNK]` and decodes back exactly, including Chinese and
# emoji that the English training text barely contains.

# %% [markdown] tags=["zh"]
# ## 编码与解码 { #encode-decode }
#
# 编码时按合并顺序（Rank）重放合并规则：在每个预分词单元内部，反复合并学得最早的相邻符号对，直到没有可用的合并为止；
# 这不是最长匹配。解码时把 token 拼接起来，把每个字符映射回字节，再按 UTF-8 解码。由于所有字节都在基础词表里，
# 任何字符串都能编码而不产生 `[UNK]`，并且能原样解码回来，包括英文训练文本里几乎没有的中文和 emoji。

# %%
def bpe_pieces(pre_token, ranks):
    """Apply merges to one pre-token, earliest-learned pair first."""
    symbols = list(pre_token)
    while len(symbols) > 1:
        best = min(zip(symbols, symbols[1:]), key=lambda pair: ranks.get(pair, float("inf")))
        if best not in ranks:
            break
        symbols = merge_pair(symbols, best, best[0] + best[1])
    return symbols


class ByteBPE:
    """Encode / decode with a list of merges (optionally only the first `n_merges` of them)."""

    def __init__(self, merges, vocab, n_merges=None):
        self.ranks = {pair: r for r, pair in enumerate(merges[:n_merges])}
        self.vocab = vocab
        self.id_to_token = {i: t for t, i in vocab.items()}
        self.cache = {}  # words repeat a lot: encode each distinct pre-token once

    def tokens(self, text):
        out = []
        for pre_token in pre_tokenize(text):
            if pre_token not in self.cache:
                self.cache[pre_token] = bpe_pieces(pre_token, self.ranks)
            out += self.cache[pre_token]
        return out

    def encode(self, text):
        return [self.vocab[t] for t in self.tokens(text)]

    def decode(self, ids, errors="replace"):
        data = bytes(CHAR_TO_BYTE[c] for i in ids for c in self.id_to_token[i])
        return data.decode("utf-8", errors=errors)


my_bpe = ByteBPE(merges, vocab)
sample = "Beam search keeps the best hypotheses: 束搜索 🤗."
print(my_bpe.tokens(sample))

for text in (held_en, held_zh, sample, "\t  trailing spaces  \n\n"):
    assert my_bpe.decode(my_bpe.encode(text), errors="strict") == text
print(f"lossless round trip on the held-out page: {len(held_en):,} characters (en) -> "
      f"{len(my_bpe.encode(held_en)):,} tokens, {len(held_zh):,} characters (zh) -> {len(my_bpe.encode(held_zh)):,} tokens")

# a token boundary can fall inside a character: '你' is three bytes, decoded alone they are invalid UTF-8
first_token = my_bpe.encode("你")[:1]
print("first token of '你' alone:", repr(my_bpe.decode(first_token)))
assert len(my_bpe.encode("你")) > 1 and my_bpe.decode(first_token) == "\ufffd"

# %% [markdown] tags=["en"]
# The last check is why a streaming server must buffer incomplete bytes before it prints a token.
#
# ## The same merges as Hugging Face tokenizers { #same-as-tokenizers }
#
# We now train `tokenizers`' `BpeTrainer` with the same settings: the `ByteLevel` pre-tokenizer, all
# 256 bytes as the initial alphabet, the same special token and vocabulary size. The two trainers must
# produce the same merges in the same order and the same vocabulary ids, and our encoder must produce
# the ids of the library's encoder on the held-out page.

# %% [markdown] tags=["zh"]
# 最后一项校验说明了为什么流式输出的服务端必须先缓存不完整的字节，再输出 token。
#
# ## 与 Hugging Face tokenizers 学到相同的合并 { #same-as-tokenizers }
#
# 下面用相同的设置训练 `tokenizers` 的 `BpeTrainer`：`ByteLevel` 预分词器、以全部 256 个字节作为初始字母表、
# 相同的特殊 token 和词表大小。两个训练器必须以相同顺序得到相同的合并规则和相同的词表 id，
# 我们的编码器在留出页上得到的 id 也必须与库的编码器一致。

# %%
def byte_level_bpe(texts, vocab_size):
    """A GPT-2-style tokenizer trained with Hugging Face tokenizers."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer)
    return tokenizer


hf_bpe = byte_level_bpe(train_en, VOCAB_SIZE)
hf_model = json.loads(hf_bpe.to_str())["model"]
hf_merges = [tuple(m) for m in hf_model["merges"]]
print("tokenizers:", [a + b for a, b in hf_merges[:8]])
print("ours:      ", [a + b for a, b in merges[:8]])
assert merges[:100] == hf_merges[:100], "the first merges differ"
assert merges == hf_merges and vocab == hf_model["vocab"]
print(f"all {len(merges)} merges and all {len(vocab)} vocabulary ids are identical")

held_ids = hf_bpe.encode(held_en + held_zh).ids
assert my_bpe.encode(held_en + held_zh) == held_ids
print(f"our encoder gives the library's {len(held_ids):,} ids on the held-out pages")

# %% [markdown] tags=["en"]
# ## The transformers tokenizer API { #transformers-api }
#
# `transformers` wraps a `tokenizers` object in `PreTrainedTokenizerFast(tokenizer_object=...)`, the same
# class `AutoTokenizer.from_pretrained(...)` returns for a hub model, and adds special-token bookkeeping,
# padding, truncation and tensors. We wrap two local tokenizers:
#
# - the byte-level BPE above, GPT-2 style: one special token `<|endoftext|>` that serves as BOS, EOS and,
#   since GPT-2 has no padding token, as the padding token;
# - a WordPiece tokenizer, BERT style, trained on the same text: lowercasing, whitespace and punctuation
#   pre-tokenization, `##` marking a piece that continues a word, and `[CLS] … [SEP]` added around every
#   input by a template post-processor.

# %% [markdown] tags=["zh"]
# ## transformers 的分词器接口 { #transformers-api }
#
# `transformers` 用 `PreTrainedTokenizerFast(tokenizer_object=...)` 包装一个 `tokenizers` 对象；对 Hub 上的模型，
# `AutoTokenizer.from_pretrained(...)` 返回的也是这个类。它在底层分词器之上管理特殊 token，并提供填充（Padding）、
# 截断（Truncation）和张量输出。我们包装两个本地分词器：
#
# - 上面的字节级 BPE，仿照 GPT-2：只有一个特殊 token `<|endoftext|>`，同时充当 BOS 和 EOS；GPT-2 没有填充 token，
#   所以也用它来填充；
# - 在同一文本上训练的 WordPiece 分词器，仿照 BERT：转小写，按空白和标点预分词，用 `##` 标记词内的后续片段，
#   并由模板后处理器在每个输入两端加上 `[CLS] … [SEP]`。

# %%
gpt_tok = PreTrainedTokenizerFast(tokenizer_object=hf_bpe, bos_token="<|endoftext|>",
                                  eos_token="<|endoftext|>", unk_token="<|endoftext|>")
gpt_tok.pad_token = gpt_tok.eos_token  # GPT-2 has no [PAD]; reuse EOS and rely on the attention mask

text = "Greedy decoding picks the argmax; nucleus sampling does not. 你好 🤗"
enc = gpt_tok(text)
print(list(enc.keys()), enc["input_ids"][:12], "...")
print(gpt_tok.convert_ids_to_tokens(enc["input_ids"])[:12], "...")
assert enc["input_ids"] == my_bpe.encode(text)  # no BOS/EOS added, as in GPT-2
assert gpt_tok.decode(enc["input_ids"]) == text
assert gpt_tok.unk_token_id not in enc["input_ids"]  # bytes cover everything
assert gpt_tok("a<|endoftext|>b")["input_ids"][1] == gpt_tok.eos_token_id  # special tokens are matched first


def tokenize_for_gpt2(texts, tokenizer, max_length=32):
    """A batch of texts -> padded, truncated PyTorch tensors for a decoder-only model."""
    tokenizer.padding_side = "left"  # generation continues after the last real token
    return tokenizer(texts, padding=True, truncation=True, max_length=max_length, return_tensors="pt")


batch = tokenize_for_gpt2(["Top-p sampling.", "Beam search with length normalization, " * 10], gpt_tok)
print(batch["input_ids"].shape, batch["attention_mask"][0].tolist())
assert batch["input_ids"].shape == (2, 32)  # the long text is truncated to max_length
n_real = batch["attention_mask"][0].sum().item()
assert (batch["input_ids"][0, :-n_real] == gpt_tok.pad_token_id).all()  # left padding
assert gpt_tok.decode(batch["input_ids"][0, -n_real:]) == "Top-p sampling."

# %% [markdown] tags=["en"]
# With a hub model the only change is where the tokenizer comes from:
# `AutoTokenizer.from_pretrained("gpt2")` (GPT-2's vocabulary has 50,257 entries). Now the BERT-style
# WordPiece tokenizer; its vocabulary has the same size.

# %% [markdown] tags=["zh"]
# 换成 Hub 上的模型时，唯一的区别是分词器的来源：`AutoTokenizer.from_pretrained("gpt2")`（GPT-2 的词表有 50,257 项）。
# 下面是仿照 BERT 的 WordPiece 分词器，词表大小相同。

# %%
BERT_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)  # also puts spaces around CJK characters
wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
wordpiece.decoder = decoders.WordPiece()
wordpiece.train_from_iterator(
    train_en, trainers.WordPieceTrainer(vocab_size=VOCAB_SIZE, special_tokens=BERT_SPECIAL, show_progress=False)
)
cls_id, sep_id = wordpiece.token_to_id("[CLS]"), wordpiece.token_to_id("[SEP]")
wordpiece.post_processor = processors.TemplateProcessing(
    single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
)
bert_tok = PreTrainedTokenizerFast(tokenizer_object=wordpiece, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")

enc = bert_tok("Tokenization splits unbelievable words 🤗")
tokens = bert_tok.convert_ids_to_tokens(enc["input_ids"])
print(tokens)
print("decode:", bert_tok.decode(enc["input_ids"]))
print("special tokens:", dict(zip(bert_tok.all_special_tokens, bert_tok.all_special_ids)))
assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and "[UNK]" in tokens
assert any(t.startswith("##") for t in tokens)
assert bert_tok.decode(enc["input_ids"], skip_special_tokens=True) != "Tokenization splits unbelievable words 🤗"

pair = bert_tok("What is top-p?", "A truncation rule.")
print("sentence pair:", bert_tok.convert_ids_to_tokens(pair["input_ids"]))
assert pair["input_ids"].count(sep_id) == 2 and pair["input_ids"][0] == cls_id

padded = bert_tok(["Short.", "A much longer sentence about nucleus sampling and beam search."],
                  padding=True, truncation=True, max_length=10, return_tensors="pt")
print(padded["input_ids"])
assert padded["input_ids"].shape == (2, 10) and padded["input_ids"][1, -1] == sep_id  # truncation keeps [SEP]
assert ((padded["input_ids"] == bert_tok.pad_token_id) == (padded["attention_mask"] == 0)).all()

# %% [markdown] tags=["en"]
# WordPiece decodes lossily: the text comes back lowercased, and the emoji, absent from the training
# text, became `[UNK]`. The byte-level BPE returned every character.
#
# ## Sequence length: words, characters, bytes, subwords { #sequence-lengths }
#
# The same held-out English page (code blocks removed) under each scheme. Words split on whitespace give
# the shortest sequence but an open vocabulary: any word not seen in training is out of vocabulary
# (OOV). Characters and bytes never meet an unknown symbol but give the longest sequences. Subwords sit in
# between with a fixed vocabulary of 2000.

# %% [markdown] tags=["zh"]
# WordPiece 的解码是有损的：文本变成了小写，训练文本中没有的 emoji 变成了 `[UNK]`。字节级 BPE 则原样还原了每个字符。
#
# ## 序列长度：词、字符、字节与子词 { #sequence-lengths }
#
# 同一个英文留出页（去掉代码块）在各方案下的长度。按空白切分的词序列最短，但词表是开放的：训练中没见过的词都是未登录词
# （Out-of-Vocabulary，OOV）。字符和字节永远不会遇到未知符号，但序列最长。子词介于两者之间，而词表固定为 2000。

# %%
train_words = Counter(w for text in train_en for w in without_code(text).split())
held_words = held_en.split()
oov_rate = sum(w not in train_words for w in held_words) / len(held_words)

lengths_en = {
    "bytes": len(held_en.encode("utf-8")),
    "characters": len(held_en),
    "WordPiece": len(wordpiece.encode(held_en, add_special_tokens=False).ids),
    "BPE": len(my_bpe.encode(held_en)),
    "words": len(held_words),
}
for name, n in lengths_en.items():
    print(f"{name:>10}: {n:6,} units, {len(held_en) / n:4.2f} characters per unit")
print(f"word level: {len(train_words):,} distinct training words, {oov_rate:.1%} of held-out words are OOV")

assert lengths_en["bytes"] >= lengths_en["characters"] > 2 * lengths_en["BPE"] and lengths_en["BPE"] > lengths_en["words"]
assert oov_rate > 0.05  # the word vocabulary is open; byte-level BPE has no unknown symbol at all

# %% [markdown] tags=["en"]
# ## Chinese: jieba, characters and byte-level BPE { #chinese }
#
# Chinese has no spaces, so word-level tokenization needs a segmenter. jieba finds the most probable path
# through a dictionary of words (with an HMM for unknown words). We take the Chinese prose of the
# held-out page (lines that are mostly Chinese characters) and count the units of each scheme: UTF-8
# bytes (3 per Chinese character), the English-trained BPE, characters, a byte-level BPE with the same
# settings trained on the Chinese pages, and jieba words. jieba's pieces concatenate back to the text,
# so all the schemes cover the same string.

# %% [markdown] tags=["zh"]
# ## 中文：jieba、字符与字节级 BPE { #chinese }
#
# 中文没有空格，词级分词需要分词器。jieba 在词典构成的词图上找概率最大的切分路径（未登录词用 HMM 处理）。
# 我们取留出页中的中文正文（以汉字为主的行），统计各方案的单元数：UTF-8 字节（每个汉字 3 个字节）、在英文上训练的 BPE、
# 字符、用相同设置在中文页面上训练的字节级 BPE，以及 jieba 的词。jieba 切出的片段拼起来就是原文，
# 所以各方案处理的是同一个字符串。

# %%
print(jieba.lcut("南京市长江大桥"), jieba.lcut("大模型的解码策略决定了生成文本的多样性"))

HAN = re.compile(r"[\u4e00-\u9fff]")


def mostly_chinese(line):
    chars = [c for c in line if not c.isspace()]
    return bool(chars) and sum(bool(HAN.match(c)) for c in chars) >= 0.5 * len(chars)


zh_text = "\n".join(line for line in held_zh.splitlines() if mostly_chinese(line))
jieba_words = jieba.lcut(zh_text)
assert "".join(jieba_words) == zh_text

zh_bpe = byte_level_bpe(train_zh, VOCAB_SIZE)
lengths_zh = {
    "bytes": len(zh_text.encode("utf-8")),
    "BPE (en)": len(my_bpe.encode(zh_text)),
    "characters": len(zh_text),
    "BPE (zh)": len(zh_bpe.encode(zh_text).ids),
    "jieba": len(jieba_words),
}
for name, n in lengths_zh.items():
    print(f"{name:>10}: {n:6,} units, {len(zh_text) / n:4.2f} characters per unit")

han_counts = Counter(HAN.findall(zh_text))  # the Chinese characters alone, each encoded on its own
en_tokens_per_han = sum(len(my_bpe.encode(c)) * n for c, n in han_counts.items()) / han_counts.total()
wp_tokens = wordpiece.encode(zh_text, add_special_tokens=False).tokens
unk_share = wp_tokens.count("[UNK]") / len(wp_tokens)
print(f"English BPE: {en_tokens_per_han:.2f} tokens per Chinese character; "
      f"English WordPiece: {unk_share:.0%} of its tokens on this text are [UNK]")

assert lengths_zh["bytes"] >= lengths_zh["BPE (en)"] > 1.5 * lengths_zh["characters"]
assert lengths_zh["characters"] > lengths_zh["BPE (zh)"] and lengths_zh["characters"] > lengths_zh["jieba"]
assert en_tokens_per_han > 2.5  # about one token per UTF-8 byte: no merge for Chinese bytes was learned
assert set(wordpiece.encode(" ".join(han_counts), add_special_tokens=False).tokens) == {"[UNK]"}

# %%
LENGTH_LABELS = {
    "en": {"title_en": "English held-out page", "title_zh": "Chinese prose of the same page",
           "x": "sequence length (units)",
           "names": {"bytes": "UTF-8 bytes", "characters": "characters", "WordPiece": "WordPiece (2000)",
                     "BPE": "byte-level BPE (2000)", "words": "words (whitespace)", "BPE (en)": "BPE trained on English",
                     "BPE (zh)": "BPE trained on Chinese", "jieba": "jieba words"}},
    "zh": {"title_en": "英文留出页", "title_zh": "同一页的中文正文", "x": "序列长度（单元数）",
           "names": {"bytes": "UTF-8 字节", "characters": "字符", "WordPiece": "WordPiece（2000）",
                     "BPE": "字节级 BPE（2000）", "words": "词（按空白切分）", "BPE (en)": "英文训练的 BPE",
                     "BPE (zh)": "中文训练的 BPE", "jieba": "jieba 分词"}},
}


def draw_lengths(lang):
    labels = LENGTH_LABELS[lang]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    for ax, lengths, title in ((axes[0], lengths_en, labels["title_en"]), (axes[1], lengths_zh, labels["title_zh"])):
        names = [labels["names"][k] for k in lengths]
        bars = ax.barh(names, list(lengths.values()), color="tab:blue")
        ax.bar_label(bars, [f"{n:,}" for n in lengths.values()], padding=3, fontsize=8)
        ax.invert_yaxis()
        ax.set(title=title, xlabel=labels["x"], xlim=(0, 1.2 * max(lengths.values())))
        ax.grid(axis="x", alpha=0.3)
    return fig


show(draw_lengths)

# %% [markdown] tags=["en"]
# An English vocabulary is unfair to Chinese. The English-trained BPE has learned no merge for Chinese
# bytes, so a Chinese character costs about three tokens, one per UTF-8 byte, while the same settings
# trained on Chinese text give fewer tokens than characters. The English WordPiece is worse: no Chinese
# character is in its alphabet, so every one of them becomes `[UNK]`.
#
# **Compression as merges are added.** Our encoder can use only the first $m$ merges of a merge list. We
# measure characters per token on the held-out English text and on the Chinese prose, with the English
# and with the Chinese merges (the Chinese ones read from the `tokenizers` model). $m = 0$ is the pure
# byte level.

# %% [markdown] tags=["zh"]
# 英文词表对中文不公平。英文训练的 BPE 没有学到任何针对中文字节的合并，所以一个汉字约需三个 token，每个 UTF-8 字节一个；
# 而用相同设置在中文上训练的 BPE，token 数比字符数还少。英文 WordPiece 更差：它的字母表里没有任何汉字，
# 所以每个汉字都变成了 `[UNK]`。
#
# **合并次数与压缩率。** 我们的编码器可以只使用合并列表中的前 $m$ 条。下面分别用英文和中文的合并规则
# （中文规则读自 `tokenizers` 的模型），测量英文留出文本和中文正文上平均每个 token 覆盖的字符数。$m = 0$ 即纯字节级。

# %%
zh_model = json.loads(zh_bpe.to_str())["model"]
merge_lists = {"en": (merges, vocab), "zh": ([tuple(m) for m in zh_model["merges"]], zh_model["vocab"])}
N_MERGES = [0, 100, 250, 500, 1000, 1743]
texts = {"en": held_en, "zh": zh_text}
chars_per_token = {
    (text_lang, merges_lang): [len(texts[text_lang]) / len(ByteBPE(*merge_lists[merges_lang], n_merges=m).tokens(texts[text_lang]))
                               for m in N_MERGES]
    for text_lang in texts for merges_lang in merge_lists
}
for (text_lang, merges_lang), values in chars_per_token.items():
    print(f"{text_lang} text, {merges_lang} merges:", " ".join(f"{v:.2f}" for v in values))

assert chars_per_token["en", "en"][-1] > 1.2 * chars_per_token["en", "zh"][-1]  # own language compresses best
assert chars_per_token["zh", "zh"][-1] > 2 * chars_per_token["zh", "en"][-1]
assert all(a < b for a, b in zip(chars_per_token["en", "en"], chars_per_token["en", "en"][1:]))

# %%
MERGE_LABELS = {
    "en": {"x": "number of merges $m$", "y": "characters per token",
           "curve": "{text} text, {merges} merges", "en": "English", "zh": "Chinese"},
    "zh": {"x": "合并次数 $m$", "y": "每个 token 的字符数", "curve": "{text}文本，{merges}合并规则", "en": "英文", "zh": "中文"},
}


def draw_merges(lang):
    labels = MERGE_LABELS[lang]
    fig, ax = plt.subplots(figsize=(8, 3.4), layout="constrained")
    for (text_lang, merges_lang), values in chars_per_token.items():
        style = "-" if text_lang == merges_lang else "--"
        marker = "o" if text_lang == "en" else "s"
        ax.plot(N_MERGES, values, style, marker=marker,
                label=labels["curve"].format(text=labels[text_lang], merges=labels[merges_lang]))
    ax.set(xlabel=labels["x"], ylabel=labels["y"], ylim=(0, None))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    return fig


show(draw_merges)

# %% [markdown] tags=["en"]
# Each tokenizer compresses best the language it was trained on. The English training text contains no
# Chinese, so English merges leave Chinese at the byte level. The Chinese pages contain English terms,
# formulas and Markdown, so Chinese merges do shorten English, but much less than English merges. At
# $m = 0$ (bytes) English gets one character per token and this Chinese prose about 0.4.
#
# ## Takeaways { #takeaways }
#
# - Byte-level BPE is a regex pre-tokenizer, a byte-to-character table and a list of merges. Training
#   merges the most frequent pair; encoding replays the merges by rank; decoding is lossless for any text.
# - With the same pre-tokenizer, alphabet, vocabulary size and tie-breaking, a from-scratch trainer
#   reproduces `tokenizers` merge for merge.
# - `PreTrainedTokenizerFast(tokenizer_object=...)` gives a local tokenizer the API of a hub tokenizer:
#   special tokens, padding (left for generation), truncation and tensors.
# - Subwords trade a fixed vocabulary for sequences several times shorter than characters or bytes. The
#   gain depends on the training language: an English vocabulary spends more than two tokens per Chinese
#   character.
#
# Back to the questions: [what tokenization is](../tokenization-embeddings.md#what-is-tokenization) ·
# [word, character and subword tokenization](../tokenization-embeddings.md#tokenization-strategies) ·
# [BPE](../tokenization-embeddings.md#bpe-algorithm) ·
# [WordPiece, Unigram and SentencePiece](../tokenization-embeddings.md#wordpiece-unigram-sentencepiece) ·
# [special tokens](../tokenization-embeddings.md#special-tokens) ·
# [multilingual tokenization](../tokenization-embeddings.md#multilingual-tokenization) ·
# [training a tokenizer](../tokenization-embeddings.md#tokenizer-tools-training).

# %% [markdown] tags=["zh"]
# 每个分词器对自己训练时所用的语言压缩得最好。英文训练文本里没有中文，所以英文合并规则下中文仍停留在字节级。
# 中文页面里夹有英文术语、公式和 Markdown，所以中文合并规则也能缩短英文，但远不如英文合并规则。
# 在 $m = 0$（纯字节）时，英文每个 token 一个字符，这段中文正文约 0.4 个字符。
#
# ## 小结 { #takeaways }
#
# - 字节级 BPE 由三部分组成：正则预分词、字节到字符的映射表和一个合并列表。训练时合并最频繁的符号对，编码时按顺序重放合并规则，
#   解码对任何文本都是无损的。
# - 只要预分词器、字母表、词表大小和平局规则都相同，从零实现的训练器就能逐条复现 `tokenizers` 的合并规则。
# - `PreTrainedTokenizerFast(tokenizer_object=...)` 让本地分词器拥有与 Hub 分词器相同的接口：特殊 token、填充
#   （生成时左填充）、截断和张量输出。
# - 子词用固定大小的词表换来比字符或字节短数倍的序列。收益取决于训练语言：英文词表表示一个汉字要用两个以上 token。
#
# 回到问答页：[什么是分词](../tokenization-embeddings.md#what-is-tokenization) ·
# [词、字符与子词分词](../tokenization-embeddings.md#tokenization-strategies) ·
# [BPE](../tokenization-embeddings.md#bpe-algorithm) ·
# [WordPiece、Unigram 与 SentencePiece](../tokenization-embeddings.md#wordpiece-unigram-sentencepiece) ·
# [特殊 token](../tokenization-embeddings.md#special-tokens) ·
# [多语言分词](../tokenization-embeddings.md#multilingual-tokenization) ·
# [训练分词器](../tokenization-embeddings.md#tokenizer-tools-training)。
