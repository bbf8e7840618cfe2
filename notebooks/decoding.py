# %% [markdown] tags=["en"]
# # Decoding strategies
#
# This notebook implements the decoding loop, greedy decoding, beam search with length normalization,
# temperature, top-k, top-p (nucleus), min-p and the repetition penalty as small functions on logits. It
# runs them on a bigram language model estimated from the handbook's own pages, checks the logit
# functions against the logits processors of `transformers`, greedy decoding and beam search against
# `generate()` on a tiny randomly initialized GPT-2, and sampling frequencies against the filtered
# distribution. It illustrates the answers on
# [the decoding loop](../decoding.md#autoregressive-decoding),
# [greedy vs beam search](../decoding.md#greedy-vs-beam-search),
# [temperature](../decoding.md#sampling-temperature),
# [top-k, top-p and min-p](../decoding.md#top-k-top-p),
# [the repetition problem](../decoding.md#repetition-problem),
# [repetition penalties](../decoding.md#repetition-penalties) and
# [the order of logit processors](../decoding.md#choosing-decoding-settings). Every check is an
# `assert`, so a wrong implementation fails the build.

# %% [markdown] tags=["zh"]
# # 解码策略
#
# 本 notebook 把解码循环、贪心解码（Greedy Decoding）、带长度归一化的束搜索（Beam Search）、温度（Temperature）、
# top-k、top-p（核采样，Nucleus Sampling）、min-p 和重复惩罚（Repetition Penalty）都实现成作用在 logits 上的小函数。
# 它们运行在一个用手册自身页面估计的二元语言模型（Bigram Language Model）上；logits 函数与 `transformers`
# 的 logits 处理器对照校验，贪心解码和束搜索与一个随机初始化的微型 GPT-2 上的 `generate()` 对照校验，
# 采样频率则与截断后的分布对照校验。对应问答页中的
# [解码循环](../decoding.md#autoregressive-decoding)、
# [贪心与束搜索](../decoding.md#greedy-vs-beam-search)、
# [温度](../decoding.md#sampling-temperature)、
# [top-k、top-p 与 min-p](../decoding.md#top-k-top-p)、
# [复读问题](../decoding.md#repetition-problem)、
# [重复惩罚](../decoding.md#repetition-penalties)和
# [logits 处理器的顺序](../decoding.md#choosing-decoding-settings)等题。
# 每项校验都是一条 `assert`，实现有误时构建会直接失败。

# %%
import itertools
import math
import re
import warnings
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from _figures import show

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, imported by transformers
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    LogitsProcessorList,
    MinPLogitsWarper,
    RepetitionPenaltyLogitsProcessor,
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)
from transformers.utils import logging as hf_logging

torch.manual_seed(0)
torch.set_num_threads(1)  # vectors of a few thousand entries: threads cost more than they save
hf_logging.set_verbosity_error()
DTYPE = torch.float64

# %% [markdown] tags=["en"]
# ## A bigram model of the handbook { #bigram-model }
#
# Decoding needs only a function from a context to next-token logits. Ours is a bigram model of the
# English pages (lowercase words and sentence ends, without code, math and link targets), interpolated
# with unigram frequencies so that every token has a nonzero probability:
#
# $$
# p(w \mid v) = \lambda\,\frac{c(v, w)}{c(v)} + (1 - \lambda)\,\frac{c(w)}{N},\qquad \lambda = 0.9,
# $$
#
# where $c(v, w)$ counts the pair "$v$ then $w$", $c(w)$ counts $w$ and $N$ is the number of tokens.
# The logits are $\log p(w \mid v)$; a softmax of log-probabilities returns the probabilities, so they
# behave like a network's logits. Only the last token of the context matters, which makes the failure
# modes of decoding easy to see.

# %% [markdown] tags=["zh"]
# ## 手册的二元语言模型 { #bigram-model }
#
# 解码只需要一个从上下文到下一个 token logits 的函数。我们用英文页面（小写单词和句末标点，去掉代码、公式和链接地址）
# 估计一个二元模型，并与一元频率插值，使每个 token 的概率都不为零：
#
# $$
# p(w \mid v) = \lambda\,\frac{c(v, w)}{c(v)} + (1 - \lambda)\,\frac{c(w)}{N},\qquad \lambda = 0.9,
# $$
#
# 其中 $c(v, w)$ 是「$v$ 后接 $w$」出现的次数，$c(w)$ 是 $w$ 的次数，$N$ 是 token 总数。logits 取
# $\log p(w \mid v)$：对对数概率做 softmax 得到的就是原概率，所以它们的行为与神经网络输出的 logits 相同。
# 模型只看上下文的最后一个 token，解码的各种失败模式因此一目了然。

# %%
def page_words(markdown):
    """Lowercase words and sentence ends of a page, without code, math, link targets and markup."""
    text = re.sub(r"```.*?```|\$\$.*?\$\$|\$[^$\n]*\$|\{[^{}\n]*\}", " ", markdown, flags=re.S)
    text = re.sub(r"^\?\?\? .*$|\]\([^)\s]*\)", " ", text, flags=re.M)  # block titles, link targets
    text = re.sub(r"\b(e\.g|i\.e|et al|vs|etc)\.", lambda m: m.group(1).replace(".", ""), text)
    return re.findall(r"[a-z]+(?:['’-][a-z]+)*|[.?!](?=\s|$)", text.lower())


class BigramLM:
    """Interpolated bigram model; `logits(context)` gives log p(next | last token of context)."""

    def __init__(self, ids, vocab_size, lam=0.9):
        self.unigram = torch.bincount(ids, minlength=vocab_size).to(DTYPE) / len(ids)
        pairs, counts = torch.unique(ids[:-1] * vocab_size + ids[1:], return_counts=True)  # sorted by (v, w)
        self.next_ids, self.counts = pairs % vocab_size, counts.to(DTYPE)
        self.row_start = torch.searchsorted(pairs // vocab_size, torch.arange(vocab_size + 1))
        self.lam = lam

    def logits(self, context):
        start, end = self.row_start[context[-1]], self.row_start[context[-1] + 1]
        if start == end:  # a token never followed by anything: back off to unigrams
            return self.unigram.log()
        counts = self.counts[start:end]
        probs = (1 - self.lam) * self.unigram
        probs = probs.index_add(0, self.next_ids[start:end], self.lam * counts / counts.sum())
        return probs.log()


tokens = [w for page in sorted((Path("..") / "docs" / "en").glob("*.md")) for w in page_words(page.read_text("utf-8"))]
vocab = [w for w, _ in Counter(tokens).most_common()]
token_id = {w: i for i, w in enumerate(vocab)}
lm = BigramLM(torch.tensor([token_id[w] for w in tokens]), len(vocab))


def encode(text):
    return [token_id[w] for w in text.split()]


def decode(ids):
    return " ".join(vocab[i] for i in ids)


print(f"{len(tokens):,} tokens, vocabulary of {len(vocab):,}")
for word in ("beam", "the"):
    p = lm.logits(encode(word)).exp()
    torch.testing.assert_close(p.sum(), torch.tensor(1.0, dtype=DTYPE))
    top = torch.topk(p, 5)
    print(f"after {word!r}:", ", ".join(f"{vocab[i]} {q:.3f}" for q, i in zip(top.values.tolist(), top.indices.tolist())))

# %% [markdown] tags=["en"]
# ## The decoding loop and greedy decoding { #decoding-loop }
#
# Generation repeats one step: compute the logits of the next token, let a decoding rule pick one, append
# it, and stop at EOS or after `max_new_tokens`. Greedy decoding picks the argmax. For a bigram model the
# next greedy token depends only on the current one, so as soon as a token repeats, the output cycles
# forever: the repetition problem in its purest form.

# %% [markdown] tags=["zh"]
# ## 解码循环与贪心解码 { #decoding-loop }
#
# 生成就是反复执行同一步：计算下一个 token 的 logits，由解码规则选出一个 token 拼到末尾，遇到 EOS 或达到
# `max_new_tokens` 时停止。贪心解码每步取 argmax。对二元模型来说，下一个贪心 token 只取决于当前 token，
# 所以一旦某个 token 重复出现，输出就会无限循环：这是复读问题（Repetition Problem）最纯粹的形式。

# %%
def generate(next_logits, prompt, pick, max_new_tokens, eos_id=None):
    """Autoregressive loop; pick(logits, context) -> token id."""
    seq = list(prompt)
    for _ in range(max_new_tokens):
        next_id = pick(next_logits(seq), seq)
        seq.append(next_id)
        if next_id == eos_id:
            break
    return seq


def greedy(logits, context=None):
    return int(logits.argmax())


def distinct_n(ids, n=2):
    """Share of distinct n-grams: 1 means no n-gram repeats."""
    grams = list(zip(*(ids[i:] for i in range(n))))
    return len(set(grams)) / len(grams)


prompt = encode("the model")
greedy_out = generate(lm.logits, prompt, greedy, max_new_tokens=40)
print(decode(greedy_out))
continuation = greedy_out[len(prompt):]
print(f"distinct-2 of the greedy continuation: {distinct_n(continuation):.2f}")

# a bigram greedy path is a function of the last token: once a token repeats, the rest is a cycle
first_repeat = next(i for i, t in enumerate(continuation) if t in continuation[:i])
period = first_repeat - continuation.index(continuation[first_repeat])
assert all(continuation[i] == continuation[i - period] for i in range(first_repeat, len(continuation)))
print(f"from token {first_repeat} on, the output repeats with period {period}")

# %% [markdown] tags=["en"]
# **Check against `generate()`.** The same loop on a tiny GPT-2 with random weights (2 layers, 64-token
# vocabulary, built locally) must reproduce `model.generate(..., do_sample=False)` token for token.

# %% [markdown] tags=["zh"]
# **与 `generate()` 对照。** 把同一个循环用在一个随机权重的微型 GPT-2 上（2 层、词表 64，本地构建），结果必须与
# `model.generate(..., do_sample=False)` 逐个 token 一致。

# %%
tiny_gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_positions=64, n_embd=32, n_layer=2, n_head=2,
                                       bos_token_id=None, eos_token_id=None, pad_token_id=None)).eval()


@torch.no_grad()
def tiny_logits(context):
    return tiny_gpt2(torch.tensor([context])).logits[0, -1].to(DTYPE)


tiny_prompt = [5, 17, 42]
ours = generate(tiny_logits, tiny_prompt, greedy, max_new_tokens=10)
theirs = tiny_gpt2.generate(torch.tensor([tiny_prompt]), max_new_tokens=10, do_sample=False)[0].tolist()
print("ours:  ", ours)
print("HF:    ", theirs)
assert ours == theirs

# %% [markdown] tags=["en"]
# ## Beam search { #beam-search }
#
# Beam search keeps the `beam_size` partial sequences with the highest total log-probability. At each step
# every beam is extended by its `beam_size` best tokens (no other token could enter the top `beam_size`),
# and the best `beam_size` candidates survive. A candidate that ends in EOS moves to the finished list;
# the search stops when `beam_size` hypotheses have finished. Finished hypotheses are ranked by the
# length-normalized score $\log p(y)/|y|^{\alpha}$, where $|y|$ counts the new tokens: with $\alpha = 0$
# it is the raw log-probability, which favors short outputs. Greedy decoding is beam search with
# `beam_size=1`.

# %% [markdown] tags=["zh"]
# ## 束搜索 { #beam-search }
#
# 束搜索保留总对数概率最高的 `beam_size` 个部分序列。每一步，每个束用自己最好的 `beam_size` 个 token 扩展
# （其他 token 不可能进入前 `beam_size` 名），再从所有候选中留下最好的 `beam_size` 个。以 EOS 结尾的候选移入已完成列表；
# 已完成的假设达到 `beam_size` 个时搜索停止。已完成的假设按长度归一化分数 $\log p(y)/|y|^{\alpha}$ 排序，
# 其中 $|y|$ 是新生成的 token 数；$\alpha = 0$ 时就是原始对数概率，它偏爱短输出。贪心解码就是 `beam_size=1`
# 的束搜索。

# %%
def beam_search(next_logits, prompt, beam_size, max_new_tokens, eos_id=None, alpha=0.0):
    """Returns (sequence, total log-prob) of the best hypothesis by log-prob / (new tokens) ** alpha."""
    beams, finished = [(list(prompt), 0.0)], []
    for _ in range(max_new_tokens):
        candidates = []
        for seq, score in beams:
            top = torch.topk(torch.log_softmax(next_logits(seq), dim=-1), beam_size)
            candidates += [(seq + [t], score + lp) for lp, t in zip(top.values.tolist(), top.indices.tolist())]
        candidates.sort(key=lambda c: c[1], reverse=True)
        beams = []
        for seq, score in candidates:
            if seq[-1] == eos_id:
                finished.append((seq, score))
            else:
                beams.append((seq, score))
            if len(beams) == beam_size:
                break
        if len(finished) >= beam_size or not beams:
            break
    return max(finished or beams, key=lambda c: c[1] / (len(c[0]) - len(prompt)) ** alpha)


# %% [markdown] tags=["en"]
# **An example built so greedy is suboptimal** (the one on the question page). The first token is A with
# probability 0.6 or B with 0.4. After A the model is unsure (its best next token has 0.3); after B it is
# sure (0.9). Greedy commits to A and ends with $0.6 \times 0.3 = 0.18$; a beam of 2 keeps B alive and finds
# $0.4 \times 0.9 = 0.36$, which exhaustive search over all two-token outputs confirms is the best.

# %% [markdown] tags=["zh"]
# **一个让贪心解码失手的例子**（即问答页上的例子）。第一个 token 以 0.6 的概率取 A、以 0.4 取 B。A 之后模型拿不准
# （最好的下一个 token 只有 0.3）；B 之后模型很确定（0.9）。贪心解码选了 A，最终得到 $0.6 \times 0.3 = 0.18$；
# 宽度为 2 的束搜索保留了 B，找到 $0.4 \times 0.9 = 0.36$。对所有两个 token 的输出做穷举搜索，确认这就是最优解。

# %%
TOY = ["<s>", "A", "B", "x", "y", "z"]
TOY_NEXT = {  # p(next | last token); rows not listed are uniform
    "<s>": {"A": 0.6, "B": 0.4},
    "A": {"x": 0.3, "y": 0.25, "z": 0.25, "A": 0.1, "B": 0.1},
    "B": {"x": 0.9, "y": 0.05, "z": 0.05},
}


def toy_logits(context):
    row = TOY_NEXT.get(TOY[context[-1]], {t: 1 / len(TOY) for t in TOY})
    return torch.tensor([row.get(t, 0.0) for t in TOY], dtype=DTYPE).log()  # log 0 = -inf: impossible


def seq_log_prob(next_logits, prompt, continuation):
    """log p(continuation | prompt), one step at a time."""
    seq, total = list(prompt), 0.0
    for t in continuation:
        total += torch.log_softmax(next_logits(seq), dim=-1)[t].item()
        seq.append(t)
    return total


start = [TOY.index("<s>")]
greedy_seq = generate(toy_logits, start, greedy, max_new_tokens=2)
beam_seq, beam_lp = beam_search(toy_logits, start, beam_size=2, max_new_tokens=2)
best = max(itertools.product(range(len(TOY)), repeat=2), key=lambda c: seq_log_prob(toy_logits, start, c))
greedy_lp = seq_log_prob(toy_logits, start, greedy_seq[1:])
print(f"greedy: {[TOY[t] for t in greedy_seq[1:]]} p = {math.exp(greedy_lp):.2f}")
print(f"beam 2: {[TOY[t] for t in beam_seq[1:]]} p = {math.exp(beam_lp):.2f}")
print(f"exhaustive best: {[TOY[t] for t in best]}")
assert math.isclose(math.exp(greedy_lp), 0.18) and math.isclose(math.exp(beam_lp), 0.36)
assert beam_lp > greedy_lp and beam_seq[1:] == list(best)
assert beam_search(toy_logits, start, beam_size=1, max_new_tokens=2)[0] == greedy_seq  # beam 1 = greedy

# %% [markdown] tags=["en"]
# **Check against `generate()`.** Without EOS every hypothesis has the same length, so the length penalty
# does not change the ranking and `num_beams=4` must return our best beam and its summed log-probability
# (`sequences_scores` with `length_penalty=0`).

# %% [markdown] tags=["zh"]
# **与 `generate()` 对照。** 没有 EOS 时所有假设长度相同，长度惩罚不影响排序，所以 `num_beams=4` 必须返回与我们相同的最优束，
# 以及它的对数概率之和（`length_penalty=0` 时的 `sequences_scores`）。

# %%
ours_seq, ours_lp = beam_search(tiny_logits, tiny_prompt, beam_size=4, max_new_tokens=8)
hf_beam = tiny_gpt2.generate(torch.tensor([tiny_prompt]), max_new_tokens=8, do_sample=False, num_beams=4,
                             length_penalty=0.0, output_scores=True, return_dict_in_generate=True)
print("ours:", ours_seq, f"{ours_lp:.4f}")
print("HF:  ", hf_beam.sequences[0].tolist(), f"{hf_beam.sequences_scores[0].item():.4f}")
assert ours_seq == hf_beam.sequences[0].tolist()
assert math.isclose(ours_lp, hf_beam.sequences_scores[0].item(), abs_tol=1e-4)
tiny_greedy = generate(tiny_logits, tiny_prompt, greedy, max_new_tokens=8)
assert ours_lp >= seq_log_prob(tiny_logits, tiny_prompt, tiny_greedy[len(tiny_prompt):])

# %% [markdown] tags=["en"]
# **On the bigram model**, with 8 new tokens and no EOS. Beam search is not guaranteed to beat greedy (the
# greedy path can drop out of the beam), but it should find a more probable continuation on almost every
# prompt.

# %% [markdown] tags=["zh"]
# **在二元模型上**，生成 8 个新 token，不设 EOS。束搜索并不保证胜过贪心（贪心路径可能被挤出束），
# 但在几乎每个提示上都应该找到概率更高的续写。

# %%
PROMPTS = ["the", "beam search", "large language", "a", "temperature", "top", "sampling", "attention"]
gains = []
for text in PROMPTS:
    p = encode(text)
    g = generate(lm.logits, p, greedy, max_new_tokens=8)
    b, b_lp = beam_search(lm.logits, p, beam_size=4, max_new_tokens=8)
    g_lp = seq_log_prob(lm.logits, p, g[len(p):])
    gains.append(b_lp - g_lp)
    print(f"{g_lp:7.2f} greedy: {decode(g)}\n{b_lp:7.2f} beam:   {decode(b)}")
assert sum(gain >= -1e-9 for gain in gains) >= len(PROMPTS) - 1 and sum(gains) / len(gains) > 0.5
print(f"beam search gains {sum(gains) / len(gains):.2f} nats on average over greedy")

# %% [markdown] tags=["en"]
# **Length normalization.** Now the sentence end "." is EOS, with a beam of 8. Raw log-probability
# ($\alpha = 0$) prefers the shortest finished sentence, since every extra token adds a negative term.
# Dividing by $|y|^{\alpha}$ lets longer hypotheses win. $\alpha$ enters only the final ranking, so a
# larger $\alpha$ can only pick a longer (or equally long) hypothesis from the same finished list. With
# $\alpha = 1$ (the mean log-probability per token) a long chain of individually likely tokens can win
# even when it repeats itself: searching for the mode does not produce good open-ended text.

# %% [markdown] tags=["zh"]
# **长度归一化。** 现在以句号 "." 作为 EOS，束宽为 8。原始对数概率（$\alpha = 0$）偏爱最短的已完成句子，
# 因为每多一个 token 就多加一个负项。除以 $|y|^{\alpha}$ 之后，较长的假设才有机会胜出。$\alpha$ 只影响最后的排序，
# 所以更大的 $\alpha$ 只会从同一个已完成列表中选出更长（或一样长）的假设。$\alpha = 1$（即每个 token 的平均对数概率）时，
# 一长串各自概率都不低的 token 即使自我重复也可能胜出：搜索概率的众数并不能得到好的开放式文本。

# %%
EOS = token_id["."]
ALPHAS = (0.0, 0.6, 1.0)
n_new = {alpha: [] for alpha in ALPHAS}
for text in ("large language", "temperature", "top-p", "the"):
    for alpha in ALPHAS:
        seq, lp = beam_search(lm.logits, encode(text), beam_size=8, max_new_tokens=30, eos_id=EOS, alpha=alpha)
        n_new[alpha].append(len(seq) - len(encode(text)))
        print(f"alpha={alpha}: {n_new[alpha][-1]:2d} new tokens, log p = {lp:6.2f}: {decode(seq)}")
mean_len = {alpha: sum(n) / len(n) for alpha, n in n_new.items()}
print("mean number of new tokens:", mean_len)
assert all(a <= b <= c for a, b, c in zip(*n_new.values()))  # same search: alpha only re-ranks, longer wins
assert mean_len[0.0] < mean_len[1.0]

# %% [markdown] tags=["en"]
# ## Temperature { #temperature }
#
# $$
# p_i(T) = \frac{\exp(z_i / T)}{\sum_j \exp(z_j / T)}
# $$
#
# We check the table on the question page (logits $[2, 1, 0]$), the two limits ($T \to 0$ is greedy,
# $T \to \infty$ is uniform), that temperature never changes the ranking, and that our function equals
# `TemperatureLogitsWarper`. The softmax subtracts the maximum first, so large logits do not overflow (see
# [softmax](../ml-foundations.md#softmax)).

# %% [markdown] tags=["zh"]
# ## 温度 { #temperature }
#
# $$
# p_i(T) = \frac{\exp(z_i / T)}{\sum_j \exp(z_j / T)}
# $$
#
# 我们校验问答页上的表格（logits 为 $[2, 1, 0]$）、两个极限（$T \to 0$ 即贪心，$T \to \infty$ 即均匀分布）、
# 温度不改变 token 的排序，以及我们的函数与 `TemperatureLogitsWarper` 的结果一致。softmax 先减去最大值，
# 因此 logits 很大时也不会溢出（见 [softmax](../ml-foundations.md#softmax)）。

# %%
def softmax(logits):
    z = logits - logits.max(dim=-1, keepdim=True).values  # exp never overflows; -inf logits give 0
    e = z.exp()
    return e / e.sum(dim=-1, keepdim=True)


def apply_temperature(logits, temperature):
    return logits / temperature


def entropy(probs):
    return -torch.special.xlogy(probs, probs).sum(-1)  # in nats; 0 log 0 = 0


z = torch.tensor([2.0, 1.0, 0.0], dtype=DTYPE)
for t, expected, h in ((0.5, [0.867, 0.117, 0.016], 0.44), (1.0, [0.665, 0.245, 0.090], 0.83), (2.0, [0.506, 0.307, 0.186], 1.02)):
    p = softmax(apply_temperature(z, t))
    print(f"T={t}: {[round(x, 3) for x in p.tolist()]}, entropy {entropy(p):.2f}")
    torch.testing.assert_close(p, torch.tensor(expected, dtype=DTYPE), rtol=0, atol=5e-4)
    assert abs(entropy(p).item() - h) < 0.005

logits_large = lm.logits(encode("large"))
torch.testing.assert_close(softmax(logits_large), torch.softmax(logits_large, -1))
assert softmax(apply_temperature(logits_large, 0.01)).max() > 0.999  # T -> 0: one-hot on the argmax
uniform = torch.full_like(logits_large, 1 / len(vocab))
torch.testing.assert_close(softmax(apply_temperature(logits_large, 1e4)), uniform, rtol=0, atol=1e-6)
for t in (0.3, 0.7, 1.5, 3.0):
    assert softmax(apply_temperature(logits_large, t)).argmax() == logits_large.argmax()

TEMPERATURES = torch.logspace(-1.3, 1.3, 40).tolist()
entropies = [entropy(softmax(apply_temperature(logits_large, t))).item() for t in TEMPERATURES]
assert all(a < b for a, b in zip(entropies, entropies[1:]))  # entropy grows with T
print(f"after 'large': entropy {entropies[0]:.2f} nats at T={TEMPERATURES[0]:.2f}, "
      f"{entropies[-1]:.2f} at T={TEMPERATURES[-1]:.1f}, log|V| = {math.log(len(vocab)):.2f}")

batch_logits = 3 * torch.randn(8, 100, dtype=DTYPE)
batch_context = torch.randint(0, 100, (8, 12))  # the warpers' input_ids argument
torch.testing.assert_close(apply_temperature(batch_logits, 0.7), TemperatureLogitsWarper(0.7)(batch_context, batch_logits))
print("apply_temperature matches TemperatureLogitsWarper")

# %%
TEMPERATURE_LABELS = {
    "en": {"p": "probability", "next": "next token after “large”", "T": "temperature $T$",
           "H": "entropy (nats)", "uniform": r"uniform, $\log|V|$", "legend": "$T = {}$"},
    "zh": {"p": "概率", "next": "「large」之后的下一个 token", "T": "温度 $T$",
           "H": "熵（nats）", "uniform": r"均匀分布，$\log|V|$", "legend": "$T = {}$"},
}


def draw_temperature(lang):
    labels = TEMPERATURE_LABELS[lang]
    fig, (ax_p, ax_h) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained", width_ratios=[1.5, 1])
    top = torch.topk(logits_large, 8).indices
    width = 0.27
    for k, t in enumerate((0.5, 1.0, 2.0)):
        p = softmax(apply_temperature(logits_large, t))[top]
        ax_p.bar([i + (k - 1) * width for i in range(len(top))], p.tolist(), width, label=labels["legend"].format(t))
    ax_p.set_xticks(range(len(top)), [vocab[i] for i in top], rotation=30)
    ax_p.set(xlabel=labels["next"], ylabel=labels["p"])
    ax_p.legend()
    ax_h.plot(TEMPERATURES, entropies, "o-", markersize=3)
    ax_h.axhline(math.log(len(vocab)), color="gray", linestyle=":", label=labels["uniform"])
    ax_h.set(xscale="log", xlabel=labels["T"], ylabel=labels["H"], ylim=(0, 1.1 * math.log(len(vocab))))
    ax_h.legend(loc="lower right")
    for ax in (ax_p, ax_h):
        ax.grid(alpha=0.3)
    return fig


show(draw_temperature)

# %% [markdown] tags=["en"]
# Lower $T$ moves mass to the top token without changing the order; higher $T$ spreads it over the
# vocabulary, and the entropy rises toward $\log|V|$, the entropy of the uniform distribution.
#
# ## Top-k, top-p and min-p { #truncation }
#
# Each rule sets the logits of excluded tokens to $-\infty$, so the softmax renormalizes over the rest:
#
# - **top-k** keeps the $k$ largest logits;
# - **top-p** sorts by probability and keeps the smallest prefix whose mass reaches $p$: a token is dropped
#   once the mass before it is already $\ge p$, so the token that crosses $p$ stays;
# - **min-p** keeps tokens with $p(x) \ge p_{\min} \cdot \max_{x'} p(x')$.
#
# Each function is compared with its `transformers` warper on a batch of random logits, for several
# settings.

# %% [markdown] tags=["zh"]
# 降低 $T$ 会把概率集中到排名第一的 token 上，但不改变排序；升高 $T$ 会把概率摊到整个词表，熵随之升向
# 均匀分布的熵 $\log|V|$。
#
# ## top-k、top-p 与 min-p { #truncation }
#
# 这三种规则都把被排除 token 的 logits 设为 $-\infty$，softmax 随后在剩下的 token 上重新归一化：
#
# - **top-k** 保留最大的 $k$ 个 logits；
# - **top-p** 按概率排序，保留累计概率达到 $p$ 的最短前缀：一个 token 之前的累计概率已经 $\ge p$ 时才丢弃它，
#   所以跨过 $p$ 的那个 token 会被保留；
# - **min-p** 保留满足 $p(x) \ge p_{\min} \cdot \max_{x'} p(x')$ 的 token。
#
# 每个函数都在一批随机 logits 上、用多组参数与对应的 `transformers` warper 对照。

# %%
NEG_INF = float("-inf")


def top_k_filter(logits, k):
    kth_largest = torch.topk(logits, min(k, logits.size(-1))).values[..., -1:]
    return logits.masked_fill(logits < kth_largest, NEG_INF)


def top_p_filter(logits, p):
    sorted_logits, order = torch.sort(logits, descending=True)
    probs = softmax(sorted_logits)
    mass_before = probs.cumsum(-1) - probs
    drop_sorted = mass_before >= p
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)  # back to vocabulary order
    return logits.masked_fill(drop, NEG_INF)


def min_p_filter(logits, min_p):
    probs = softmax(logits)
    return logits.masked_fill(probs < min_p * probs.max(dim=-1, keepdim=True).values, NEG_INF)


def kept(filtered):
    return torch.isfinite(filtered).sum(-1)


for k in (1, 5, 50):
    torch.testing.assert_close(top_k_filter(batch_logits, k), TopKLogitsWarper(k)(batch_context, batch_logits))
for p in (0.1, 0.5, 0.9, 0.99):
    torch.testing.assert_close(top_p_filter(batch_logits, p), TopPLogitsWarper(p)(batch_context, batch_logits))
for m in (0.05, 0.2, 0.5):
    torch.testing.assert_close(min_p_filter(batch_logits, m), MinPLogitsWarper(m)(batch_context, batch_logits))
print("top-k, top-p and min-p match TopKLogitsWarper, TopPLogitsWarper and MinPLogitsWarper")
print("tokens kept per row by top-p 0.9:", kept(top_p_filter(batch_logits, 0.9)).tolist())
assert (kept(top_k_filter(batch_logits, 5)) == 5).all() and (kept(top_p_filter(batch_logits, 1e-9)) == 1).all()

# %% [markdown] tags=["en"]
# **What each rule keeps, in a confident and in a flat context.** After "beam" the model is fairly sure
# ("search"); after "the" almost any noun can follow. Top-k keeps the same number of tokens in both;
# top-p and min-p adapt to the model's confidence.

# %% [markdown] tags=["zh"]
# **各规则在确定与平坦的上下文中保留了什么。** 「beam」之后模型相当确定（「search」）；「the」之后几乎任何名词都可能出现。
# top-k 在两种情况下保留的 token 数相同；top-p 和 min-p 则随模型的确定程度自适应。

# %%
CONTEXTS = {"beam": lm.logits(encode("beam")), "the": lm.logits(encode("the"))}
RULES = {"top-k (k=20)": lambda z: top_k_filter(z, 20),
         "top-p (p=0.9)": lambda z: top_p_filter(z, 0.9),
         "min-p (p_min=0.1)": lambda z: min_p_filter(z, 0.1)}
n_kept = {(c, r): kept(rule(z)).item() for c, z in CONTEXTS.items() for r, rule in RULES.items()}
for (c, r), n in n_kept.items():
    print(f"after {c!r:7} {r:18} keeps {n:5,} tokens")

top_k_rule, top_p_rule, min_p_rule = RULES
assert n_kept["beam", top_k_rule] == n_kept["the", top_k_rule] == 20
assert n_kept["beam", top_p_rule] < 20 < n_kept["the", top_p_rule]  # the nucleus adapts to confidence
assert n_kept["beam", min_p_rule] < n_kept["the", min_p_rule]

# the same p keeps more tokens after a higher temperature: the order of operations matters
kept_by_t = [kept(top_p_filter(apply_temperature(CONTEXTS["beam"], t), 0.9)).item() for t in (0.7, 1.0, 1.5)]
print("top-p 0.9 after 'beam' at T = 0.7, 1.0, 1.5 keeps", kept_by_t, "tokens")
assert kept_by_t[0] < kept_by_t[1] < kept_by_t[2]

# %%
TRUNCATION_LABELS = {
    "en": {"context": "after “{}”", "kept": "kept", "dropped": "dropped", "x": "token rank", "p": "probability",
           "title": "{rule}: keeps {n:,}"},
    "zh": {"context": "「{}」之后", "kept": "保留", "dropped": "丢弃", "x": "token 排名", "p": "概率",
           "title": "{rule}：保留 {n:,} 个"},
}
N_SHOWN = 40


def draw_truncation(lang):
    labels = TRUNCATION_LABELS[lang]
    fig, axes = plt.subplots(2, 3, figsize=(11, 5.2), layout="constrained", sharex=True)
    for row, (c, z) in enumerate(CONTEXTS.items()):
        probs, order = torch.sort(softmax(z), descending=True)
        for col, (r, rule) in enumerate(RULES.items()):
            ax = axes[row, col]
            keep = torch.isfinite(rule(z))[order][:N_SHOWN]
            colors = ["tab:blue" if k else "lightgray" for k in keep.tolist()]
            ax.bar(range(1, N_SHOWN + 1), probs[:N_SHOWN].tolist(), color=colors, width=0.9)
            ax.set_title(labels["title"].format(rule=r, n=n_kept[c, r]), fontsize=10)
            ax.grid(axis="y", alpha=0.3)
            if col == 0:
                ax.set_ylabel(labels["context"].format(c) + "\n" + labels["p"])
            if row == 1:
                ax.set_xlabel(labels["x"])
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in ("tab:blue", "lightgray")]
    fig.legend(handles, [labels["kept"], labels["dropped"]], loc="outside upper right", ncols=2)
    return fig


show(draw_truncation)

# %% [markdown] tags=["en"]
# Only the 40 most probable tokens are drawn; in the flat context top-p and min-p keep many more.
#
# ## Sampling matches the filtered distribution { #sampling-check }
#
# A sampler draws from $q = \operatorname{softmax}(\text{filtered logits})$. Ours uses the inverse CDF: draw
# $u$ uniformly and return the first token whose cumulative probability exceeds $u$; a token with $q = 0$
# owns an empty interval and can never be drawn. With a fixed seed we draw 20,000 tokens after "large"
# with $T = 0.8$ and top-p 0.9, and require every frequency to lie within 4 standard deviations
# $\sqrt{q(1-q)/n}$ of $q$, and every dropped token to have count 0.

# %% [markdown] tags=["zh"]
# 图中只画了概率最高的 40 个 token；在平坦的上下文中，top-p 和 min-p 保留的远不止这些。
#
# ## 采样频率与截断后的分布一致 { #sampling-check }
#
# 采样器从 $q = \operatorname{softmax}(\text{截断后的 logits})$ 中抽取 token。我们用逆累积分布函数（Inverse CDF）：
# 均匀抽取 $u$，返回累计概率第一个超过 $u$ 的 token；$q = 0$ 的 token 对应的区间为空，永远不会被抽到。
# 固定随机种子，在「large」之后以 $T = 0.8$、top-p 0.9 抽取 20,000 个 token，要求每个 token 的频率与 $q$
# 的偏差不超过 4 个标准差 $\sqrt{q(1-q)/n}$，被丢弃的 token 计数必须为 0。

# %%
def sample(logits, n, generator):
    """n independent draws from softmax(logits) by inverse-CDF sampling."""
    cdf = softmax(logits).cumsum(-1)
    u = torch.rand(n, generator=generator, dtype=cdf.dtype) * cdf[-1]
    return torch.searchsorted(cdf, u, right=True)


N_DRAWS = 20_000
filtered = top_p_filter(apply_temperature(logits_large, 0.8), 0.9)
q = softmax(filtered)
draws = sample(filtered, N_DRAWS, torch.Generator().manual_seed(0))
freq = torch.bincount(draws, minlength=len(vocab)).to(DTYPE) / N_DRAWS
tolerance = 4 * torch.sqrt(q * (1 - q) / N_DRAWS) + 2 / N_DRAWS  # + 2 draws: slack for the rarest tokens

assert (freq[q == 0] == 0).all()
assert ((freq - q).abs() <= tolerance + 1e-12).all()
print(f"{kept(filtered).item()} tokens kept; largest |freq - q| = {(freq - q).abs().max():.4f}, "
      f"total variation distance {0.5 * (freq - q).abs().sum():.4f}")
for i in torch.topk(q, 4).indices.tolist():
    print(f"  {vocab[i]:>10}: q = {q[i]:.4f}, frequency = {freq[i]:.4f}")

# %% [markdown] tags=["en"]
# ## Repetition penalty { #repetition-penalty }
#
# CTRL's penalty makes every token already in the context less likely (*CTRL: A Conditional Transformer
# Language Model for Controllable Generation*, Keskar et al., 2019). Dividing a negative logit by
# $\theta > 1$ would raise it, so `transformers` divides positive logits and multiplies negative ones. Our
# log-probability logits are all negative, so the penalty subtracts $(\theta - 1)\,|\log p|$: it hits
# unlikely tokens harder than likely ones, a reminder that the penalty depends on the logit scale.
#
# We check it against `RepetitionPenaltyLogitsProcessor`, then the whole pipeline (penalty, temperature,
# top-k, top-p, min-p, in the order `transformers` applies them) against a `LogitsProcessorList`.

# %% [markdown] tags=["zh"]
# ## 重复惩罚 { #repetition-penalty }
#
# CTRL 的重复惩罚降低上下文中已出现 token 的概率（*CTRL: A Conditional Transformer Language Model for
# Controllable Generation*，Keskar 等，2019）。负的 logit 除以 $\theta > 1$ 反而会变大，所以 `transformers`
# 对正 logit 做除法、对负 logit 做乘法。我们的 logits 是对数概率，全部为负，惩罚相当于减去
# $(\theta - 1)\,|\log p|$：对低概率 token 的打击比高概率 token 更重。这提醒我们，惩罚的强弱取决于 logits 的尺度。
#
# 我们先把它与 `RepetitionPenaltyLogitsProcessor` 对照，再把整条流水线（惩罚、温度、top-k、top-p、min-p，按
# `transformers` 的应用顺序）与一个 `LogitsProcessorList` 对照。

# %%
def repetition_penalty(logits, context, penalty):
    """Sign-aware CTRL penalty on every token id in `context` (same shape rules as logits)."""
    seen = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, context, True)
    penalized = torch.where(logits > 0, logits / penalty, logits * penalty)
    return torch.where(seen, penalized, logits)


def process(logits, context, penalty=1.0, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0):
    """Penalties on the raw logits, then temperature, then truncation (the order of transformers)."""
    logits = apply_temperature(repetition_penalty(logits, context, penalty), temperature)
    if top_k:
        logits = top_k_filter(logits, top_k)
    if top_p < 1.0:
        logits = top_p_filter(logits, top_p)
    return min_p_filter(logits, min_p) if min_p else logits


torch.testing.assert_close(repetition_penalty(batch_logits, batch_context, 1.3),
                           RepetitionPenaltyLogitsProcessor(1.3)(batch_context, batch_logits))
settings = dict(penalty=1.3, temperature=0.7, top_k=20, top_p=0.9, min_p=0.05)
pipeline = LogitsProcessorList([RepetitionPenaltyLogitsProcessor(1.3), TemperatureLogitsWarper(0.7),
                                TopKLogitsWarper(20), TopPLogitsWarper(0.9), MinPLogitsWarper(0.05)])
torch.testing.assert_close(process(batch_logits, batch_context, **settings), pipeline(batch_context, batch_logits))
print("repetition_penalty and the full pipeline match transformers")

# %% [markdown] tags=["en"]
# **Breaking the loop.** Greedy decoding with the penalty, and sampling with $T = 0.8$ and top-p 0.9,
# from the same prompt as the greedy loop above. The share of distinct bigrams measures how much the
# continuation repeats itself (see [diversity metrics](../decoding.md#generation-diversity-metrics)).

# %% [markdown] tags=["zh"]
# **打破循环。** 从与上面贪心循环相同的提示出发，分别做带惩罚的贪心解码，以及 $T = 0.8$、top-p 0.9 的采样。
# 不同二元组所占的比例衡量续写自我重复的程度（见[多样性指标](../decoding.md#generation-diversity-metrics)）。

# %%
def penalized_greedy(logits, context):
    return greedy(repetition_penalty(logits, torch.tensor(context), 1.3))


sampling_rng = torch.Generator().manual_seed(0)


def nucleus_sampling(logits, context):
    return sample(process(logits, torch.tensor(context), temperature=0.8, top_p=0.9), 1, sampling_rng).item()


distinct = {"greedy": distinct_n(continuation)}
for name, pick in (("greedy + penalty 1.3", penalized_greedy), ("T=0.8, top-p 0.9", nucleus_sampling)):
    out = generate(lm.logits, prompt, pick, max_new_tokens=40)
    distinct[name] = distinct_n(out[len(prompt):])
    print(f"{name} (distinct-2 {distinct[name]:.2f}): {decode(out)}\n")
print(f"greedy (distinct-2 {distinct['greedy']:.2f}): {decode(greedy_out)}")
assert distinct["greedy"] < 0.5 < min(distinct["greedy + penalty 1.3"], distinct["T=0.8, top-p 0.9"])

# %% [markdown] tags=["en"]
# Both escape the cycle. The text is still bigram text: decoding changes which sequence is chosen, not
# what the model knows.
#
# ## Takeaways { #takeaways }
#
# - The model gives next-token logits; decoding is a separate loop, and each strategy is a small function
#   on the logits or a search over sequences.
# - Greedy decoding is beam search with one beam. A wider beam finds higher-probability sequences,
#   including ones greedy misses, and needs length normalization once outputs can end at different lengths.
# - Temperature rescales logits without changing their order; top-k keeps a fixed number of tokens, while
#   top-p and min-p adapt to the model's confidence. Order matters: truncation after temperature keeps more
#   tokens at higher $T$.
# - Maximization loops; a repetition penalty or sampling breaks the loop. The penalty's strength depends on
#   the logit scale.
#
# Back to the questions: [the decoding loop](../decoding.md#autoregressive-decoding) ·
# [greedy vs beam search](../decoding.md#greedy-vs-beam-search) ·
# [temperature](../decoding.md#sampling-temperature) ·
# [top-k, top-p and min-p](../decoding.md#top-k-top-p) ·
# [the repetition problem](../decoding.md#repetition-problem) ·
# [repetition penalties](../decoding.md#repetition-penalties) ·
# [choosing decoding settings](../decoding.md#choosing-decoding-settings).

# %% [markdown] tags=["zh"]
# 两者都跳出了循环。不过生成的仍是二元模型水平的文本：解码改变的是选出哪条序列，而不是模型知道什么。
#
# ## 小结 { #takeaways }
#
# - 模型给出下一个 token 的 logits；解码是独立的循环，每种策略都是作用在 logits 上的小函数，或是在序列空间上的搜索。
# - 贪心解码就是只有一个束的束搜索。更宽的束能找到概率更高的序列，包括贪心错过的序列；一旦输出可以在不同长度结束，
#   就需要长度归一化。
# - 温度只缩放 logits，不改变排序；top-k 保留固定数量的 token，而 top-p 和 min-p 随模型的确定程度自适应。
#   顺序很重要：在温度之后截断，$T$ 越高保留的 token 越多。
# - 最大化式的解码会陷入循环；重复惩罚或采样可以打破循环。惩罚的强弱取决于 logits 的尺度。
#
# 回到问答页：[解码循环](../decoding.md#autoregressive-decoding) ·
# [贪心与束搜索](../decoding.md#greedy-vs-beam-search) ·
# [温度](../decoding.md#sampling-temperature) ·
# [top-k、top-p 与 min-p](../decoding.md#top-k-top-p) ·
# [复读问题](../decoding.md#repetition-problem) ·
# [重复惩罚](../decoding.md#repetition-penalties) ·
# [解码参数的选择](../decoding.md#choosing-decoding-settings)。
