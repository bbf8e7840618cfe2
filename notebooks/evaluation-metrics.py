# %% [markdown] tags=["en"]
# # Evaluation metrics from scratch
#
# This notebook implements the standard automatic metrics in a few lines each and checks every one
# against the reference library: perplexity against PyTorch's cross-entropy, BLEU against SacreBLEU,
# ROUGE against Google's `rouge-score`, classification metrics against scikit-learn, and the pass@k
# estimator against brute-force enumeration. It reproduces the worked examples of the answers on
# [perplexity](../evaluation.md#perplexity), [BLEU, ROUGE and METEOR](../evaluation.md#bleu-rouge-meteor),
# [classification metrics](../evaluation.md#classification-metrics) and [pass@k](../evaluation.md#pass-at-k),
# and asserts their numbers, so a wrong implementation or a wrong number on the page fails the build.

# %% [markdown] tags=["zh"]
# # 从零实现评估指标
#
# 本 notebook 用寥寥几行代码实现常用的自动评估指标，并逐一与参考库对比：困惑度（Perplexity）对比 PyTorch 的交叉熵，
# BLEU 对比 SacreBLEU，ROUGE 对比 Google 的 `rouge-score`，分类指标对比 scikit-learn，pass@k 估计量对比穷举。
# 它复现了问答页中[困惑度](../evaluation.md#perplexity)、[BLEU、ROUGE 与 METEOR](../evaluation.md#bleu-rouge-meteor)、
# [分类指标](../evaluation.md#classification-metrics)和 [pass@k](../evaluation.md#pass-at-k) 几题的算例，
# 并用 `assert` 核对其中的数字：实现有误或页面上的数字有误，构建都会失败。

# %%
import itertools
import math
import random
import re
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import sacrebleu
import torch
import torch.nn.functional as F
from _figures import show
from rouge_score import rouge_scorer
from sklearn import metrics as skm

random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
DTYPE = torch.float64  # float64 keeps the comparisons tight

# %% [markdown] tags=["en"]
# ## Perplexity { #perplexity }
#
# Perplexity is the exponential of the mean negative log-probability of the tokens of a held-out text:
#
# $$
# \operatorname{PPL} = \exp\!\left(-\frac{1}{N}\sum_{i=1}^{N}\log p_\theta(x_i \mid x_{<i})\right)
# $$
#
# The page's worked example gives four tokens the probabilities $\tfrac12, \tfrac14, \tfrac18, \tfrac14$;
# the mean negative log-probability is 2 bits, so the perplexity is $2^2 = 4$, whichever base the
# logarithm has.

# %% [markdown] tags=["zh"]
# ## 困惑度 { #perplexity }
#
# 困惑度是留出文本中各 token 负对数概率的平均值再取指数：
#
# $$
# \operatorname{PPL} = \exp\!\left(-\frac{1}{N}\sum_{i=1}^{N}\log p_\theta(x_i \mid x_{<i})\right)
# $$
#
# 问答页的算例给 4 个 token 的概率分别是 $\tfrac12, \tfrac14, \tfrac18, \tfrac14$，平均负对数概率为 2 比特，
# 所以困惑度是 $2^2 = 4$，与对数的底无关。

# %%
def perplexity(token_log_probs):
    """exp of the mean negative log-probability (natural log) of the observed tokens."""
    return math.exp(-token_log_probs.mean().item())


example_probs = torch.tensor([1 / 2, 1 / 4, 1 / 8, 1 / 4], dtype=DTYPE)
ppl_nats = perplexity(example_probs.log())
ppl_bits = 2 ** (-example_probs.log2().mean().item())
assert math.isclose(ppl_nats, 4.0) and math.isclose(ppl_bits, 4.0)
print(f"worked example: PPL = {ppl_nats:.4f} (nats) = {ppl_bits:.4f} (bits)")

# %% [markdown] tags=["en"]
# To see perplexity rank real models, we fit character-level n-gram language models on the English
# pages of this handbook, holding out the evaluation page as test text. Characters seen fewer than 20
# times in the training text share one unknown symbol, as rare words share `[UNK]` in a word-level
# vocabulary; this keeps $|V|$ near 100. An order-$n$ model predicts each
# character from the previous $n-1$ with add-$\alpha$ smoothed counts,
# $p(x_i \mid x_{i-n+1}^{i-1}) = \frac{\text{count}(x_{i-n+1}^{i}) + \alpha}{\text{count}(x_{i-n+1}^{i-1}) + \alpha |V|}$.
# A uniform model over the vocabulary $V$ has perplexity exactly $|V|$; more context should lower it.
#
# A language model's training loss is `F.cross_entropy(logits, targets)`: a log-softmax followed by the
# mean negative log-probability of the targets. So perplexity computed from the token log-probabilities
# must equal `exp(F.cross_entropy(...))` on the model's log-probabilities, which are valid logits.

# %% [markdown] tags=["zh"]
# 为了看看困惑度如何给真实模型排序，我们在本手册的英文页面上拟合字符级 n-gram 语言模型，留出评估页作为测试文本。
# 训练文本中出现不足 20 次的字符共用一个未知符号，就像词级词表中的生僻词共用 `[UNK]`，这样 $|V|$ 保持在 100 左右。
# $n$ 阶模型根据前 $n-1$ 个字符预测下一个字符，使用加 $\alpha$ 平滑（Add-$\alpha$ Smoothing）的计数：
# $p(x_i \mid x_{i-n+1}^{i-1}) = \frac{\text{count}(x_{i-n+1}^{i}) + \alpha}{\text{count}(x_{i-n+1}^{i-1}) + \alpha |V|}$。
# 词表 $V$ 上的均匀模型困惑度恰好为 $|V|$；上下文越长，困惑度应当越低。
#
# 语言模型的训练损失是 `F.cross_entropy(logits, targets)`：先做 log-softmax，再对目标 token 的负对数概率取平均。
# 因此，由 token 对数概率算出的困惑度，必须等于把模型的对数概率当作 logit 传入后的 `exp(F.cross_entropy(...))`。

# %%
DOCS = Path("..") / "docs" / "en"
TEST_PAGE = "evaluation.md"
train_text = "\n".join(p.read_text() for p in sorted(DOCS.glob("*.md")) if p.name != TEST_PAGE)
test_text = (DOCS / TEST_PAGE).read_text()[:20_000]
MIN_COUNT, UNKNOWN = 20, "\ufffd"
VOCAB = sorted(ch for ch, n in Counter(train_text).items() if n >= MIN_COUNT) + [UNKNOWN]
char_id = {ch: i for i, ch in enumerate(VOCAB)}
train_ids = torch.tensor([char_id.get(ch, char_id[UNKNOWN]) for ch in train_text])
test_ids = torch.tensor([char_id.get(ch, char_id[UNKNOWN]) for ch in test_text])
MAX_ORDER, ALPHA = 3, 0.1
assert len(VOCAB) <= 200  # the trigram table has |V|^3 entries


def ngram_log_prob_table(ids, order, alpha=ALPHA):
    """Log p(next | previous order-1 chars), shape (|V|,) * order, from add-alpha smoothed counts."""
    n_vocab = len(VOCAB)
    windows = ids.unfold(0, order, 1)  # every run of `order` consecutive ids
    flat = torch.zeros(n_vocab**order, dtype=DTYPE)
    flat.index_add_(0, windows @ (n_vocab ** torch.arange(order - 1, -1, -1)), torch.ones(len(windows), dtype=DTYPE))
    counts = flat.view((n_vocab,) * order) + alpha
    return (counts / counts.sum(-1, keepdim=True)).log()


def next_token_logits(table, ids, order):
    """Row i holds log p(. | context of target i); targets are ids[MAX_ORDER - 1:] for every order."""
    start = MAX_ORDER - 1
    contexts = [ids[start - j : len(ids) - j] for j in range(order - 1, 0, -1)]  # oldest context first
    return table[tuple(contexts)] if contexts else table.expand(len(ids) - start, -1)


targets = test_ids[MAX_ORDER - 1 :]  # every model scores the same characters
results = {"uniform": math.exp(F.cross_entropy(torch.zeros(len(targets), len(VOCAB), dtype=DTYPE), targets).item())}
for order in range(1, MAX_ORDER + 1):
    logits = next_token_logits(ngram_log_prob_table(train_ids, order), test_ids, order)
    token_log_probs = logits.gather(1, targets[:, None]).squeeze(1)
    ppl = perplexity(token_log_probs)
    ppl_ce = math.exp(F.cross_entropy(logits, targets).item())
    assert math.isclose(ppl, ppl_ce, rel_tol=1e-9), (order, ppl, ppl_ce)
    results[f"{order}-gram"] = ppl

print(f"|V| = {len(VOCAB)} characters, {len(targets)} test characters")
for name, ppl in results.items():
    print(f"{name:>8}: PPL {ppl:7.2f}  ({math.log2(ppl):.2f} bits per character)")

# %%
assert math.isclose(results["uniform"], len(VOCAB), rel_tol=1e-9)
ppls = list(results.values())
assert all(a > 1.3 * b for a, b in zip(ppls, ppls[1:])), ppls  # each extra character of context helps
print("perplexity from token log-probs == exp(F.cross_entropy) for every model;",
      "uniform = |V|; uniform > 1-gram > 2-gram > 3-gram")

# %% [markdown] tags=["en"]
# Each character of context lowers perplexity by a large factor. The values are per character: a
# word-level or subword model on the same text would report a different number for the same quality,
# which is why perplexities are only comparable with the same tokenizer, or after converting to bits
# per character or byte.

# %% [markdown] tags=["zh"]
# 每多一个字符的上下文，困惑度都大幅下降。这些数值是按字符计算的：在同一文本上，词级或子词级模型即使质量相同，
# 报告的数字也会不同。所以只有使用同一个分词器时困惑度才可比，否则要换算成每字符或每字节的比特数。

# %% [markdown] tags=["en"]
# ## BLEU { #bleu }
#
# BLEU combines clipped n-gram precisions $p_1, \dots, p_4$ with a brevity penalty. A candidate n-gram
# counts as a match at most as many times as it appears in any single reference:
#
# $$
# p_n = \frac{\sum_{g} \min\big(\text{count}_c(g),\ \max_r \text{count}_r(g)\big)}{\sum_{g} \text{count}_c(g)},
# \qquad
# \text{BP} = \min\big(1,\ e^{\,1 - r_{\text{len}}/c_{\text{len}}}\big),
# \qquad
# \text{BLEU} = \text{BP} \cdot \exp\!\Big(\tfrac14\sum_{n=1}^{4} \log p_n\Big)
# $$
#
# At corpus level the clipped counts, the candidate lengths and the reference lengths are summed over
# all sentences first, and the formula is applied once. For each sentence, $r_{\text{len}}$ is the
# length of the reference closest in length to the candidate (the shorter one on a tie), as in SacreBLEU.
# First the clipping example from the page: "the" appears at most twice in the reference, so seven
# "the"s earn a unigram precision of $2/7$, not $7/7$.

# %% [markdown] tags=["zh"]
# ## BLEU { #bleu }
#
# BLEU 把截断后的 n-gram 精确率 $p_1, \dots, p_4$ 与简短惩罚（Brevity Penalty）结合起来。候选译文中的某个 n-gram
# 计为匹配的次数，不超过它在任一参考译文中出现的最大次数：
#
# $$
# p_n = \frac{\sum_{g} \min\big(\text{count}_c(g),\ \max_r \text{count}_r(g)\big)}{\sum_{g} \text{count}_c(g)},
# \qquad
# \text{BP} = \min\big(1,\ e^{\,1 - r_{\text{len}}/c_{\text{len}}}\big),
# \qquad
# \text{BLEU} = \text{BP} \cdot \exp\!\Big(\tfrac14\sum_{n=1}^{4} \log p_n\Big)
# $$
#
# 语料级 BLEU 先在所有句子上累加截断计数、候选长度和参考长度，最后只套用一次公式。每个句子的 $r_{\text{len}}$
# 取长度最接近候选的那条参考（一样接近时取较短的），与 SacreBLEU 一致。先看页面上的截断例子：参考中 "the"
# 最多出现两次，所以 7 个 "the" 的一元精确率是 $2/7$，而不是 $7/7$。

# %%
def ngrams(tokens, n):
    """Counter of the n-grams (as tuples) of a token list."""
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def clipped_matches(candidate, references, n):
    """(clipped n-gram matches, candidate n-gram count) for one sentence."""
    cand = ngrams(candidate, n)
    max_ref = Counter()
    for ref in references:
        max_ref |= ngrams(ref, n)  # | keeps the maximum count of each n-gram
    return sum(min(count, max_ref[g]) for g, count in cand.items()), sum(cand.values())


matches, total = clipped_matches("the the the the the the the".split(), ["the cat is on the mat".split()], 1)
assert (matches, total) == (2, 7)
print(f"clipping: modified unigram precision = {matches}/{total}")

# %%
def corpus_bleu(candidates, references, max_n=4, smooth="none"):
    """Corpus BLEU in [0, 1]. candidates: token lists; references: one list of token lists per candidate.

    smooth="exp" is SacreBLEU's 'exp' method: the k-th order with zero matches gets precision 1 / (2^k total).
    """
    matches, totals = [0] * max_n, [0] * max_n
    cand_len = ref_len = 0
    for cand, refs in zip(candidates, references):
        for n in range(1, max_n + 1):
            m, t = clipped_matches(cand, refs, n)
            matches[n - 1] += m
            totals[n - 1] += t
        cand_len += len(cand)
        ref_len += min((abs(len(r) - len(cand)), len(r)) for r in refs)[1]  # closest, shorter on ties
    if sum(matches) == 0:
        return {"bleu": 0.0, "precisions": [0.0] * max_n, "bp": 1.0}
    precisions, zeros_so_far = [], 0
    for m, t in zip(matches, totals):
        if m == 0 and smooth == "exp":
            zeros_so_far += 1
            m = 1 / 2**zeros_so_far
        precisions.append(m / t if t else 0.0)
    bp = 1.0 if cand_len > ref_len else math.exp(1 - ref_len / cand_len)
    if min(precisions) == 0:
        return {"bleu": 0.0, "precisions": precisions, "bp": bp}
    log_mean = sum(math.log(p) for p in precisions) / max_n  # geometric mean of the precisions
    return {"bleu": bp * math.exp(log_mean), "precisions": precisions, "bp": bp}


# %% [markdown] tags=["en"]
# The page's worked example: reference "the cat sat on the mat", candidate "the cat sat on mat".

# %% [markdown] tags=["zh"]
# 问答页的算例：参考译文 "the cat sat on the mat"，候选译文 "the cat sat on mat"。

# %%
REFERENCE, CANDIDATE = "the cat sat on the mat", "the cat sat on mat"
ours = corpus_bleu([CANDIDATE.split()], [[REFERENCE.split()]])
geo_mean = math.prod(ours["precisions"]) ** 0.25
print("p_1..p_4 =", [f"{p:.3f}" for p in ours["precisions"]],
      f"| geometric mean {geo_mean:.3f} | BP {ours['bp']:.3f} | BLEU {ours['bleu']:.3f}")
assert ours["precisions"] == [5 / 5, 3 / 4, 2 / 3, 1 / 2]
assert round(geo_mean, 3) == 0.707 and round(ours["bp"], 3) == 0.819 and round(ours["bleu"], 3) == 0.579

sacre = sacrebleu.corpus_bleu([CANDIDATE], [[REFERENCE]], tokenize="none", smooth_method="none")
assert abs(100 * ours["bleu"] - sacre.score) < 0.01, (ours["bleu"], sacre.score)
print(f"SacreBLEU: {sacre.score:.3f} (BLEU x 100)")

# %% [markdown] tags=["en"]
# Now a small corpus with two references per sentence. SacreBLEU takes raw strings and the references
# as parallel streams (stream $j$ holds the $j$-th reference of every sentence). It also tokenizes:
# `tokenize="none"` splits on whitespace only, which matches our `str.split`, and `smooth_method="none"`
# matches the plain formula.

# %% [markdown] tags=["zh"]
# 再看一个小语料，每句有两条参考译文。SacreBLEU 接收原始字符串，参考译文按「流」并列传入（第 $j$ 个流是每句的第
# $j$ 条参考）。它还会自己分词：`tokenize="none"` 只按空白切分，与我们的 `str.split` 一致；
# `smooth_method="none"` 对应不加平滑的原始公式。

# %%
CORPUS = [  # (candidate, [reference 1, reference 2])
    ("the cat sat on mat", ["the cat sat on the mat", "a cat was sitting on the mat"]),
    ("the cat is on a mat", ["there is a cat on the mat", "a cat sits on the mat"]),
    ("the model translates the whole sentence well", ["the model translates the sentence well",
                                                      "the system gives a good translation of the sentence"]),
    ("it is raining heavily in the city today", ["today it is raining hard in the city",
                                                 "it rains heavily in the city today"]),
]
cands = [c for c, _ in CORPUS]
refs = [r for _, r in CORPUS]
ref_streams = [list(stream) for stream in zip(*refs)]

ours_corpus = corpus_bleu([c.split() for c in cands], [[r.split() for r in rs] for rs in refs])
sacre_corpus = sacrebleu.corpus_bleu(cands, ref_streams, tokenize="none", smooth_method="none")
assert abs(100 * ours_corpus["bleu"] - sacre_corpus.score) < 0.01
print(f"corpus BLEU: ours {100 * ours_corpus['bleu']:.3f} | SacreBLEU {sacre_corpus.score:.3f}")

# corpus BLEU is not the mean of sentence BLEUs: sentence 2 alone has no matching 4-gram
sentence_scores = [corpus_bleu([c.split()], [[r.split() for r in rs]])["bleu"] for c, rs in CORPUS]
print("sentence BLEU without smoothing:", [f"{100 * s:.1f}" for s in sentence_scores])
assert sentence_scores[1] == 0 and min(sentence_scores[:1] + sentence_scores[2:]) > 0

# %% [markdown] tags=["en"]
# One sentence scores 0: it has no 4-gram in common with either reference, so $p_4 = 0$ and the
# geometric mean collapses, although most of its words are right. Smoothing gives such orders a small
# nonzero precision. We check the `exp` method against SacreBLEU on every sentence, then show that the
# tokenizer changes the score: with SacreBLEU's default `13a` tokenizer the final period becomes a token
# of its own.

# %% [markdown] tags=["zh"]
# 有一句得分为 0：它与两条参考都没有共同的四元组，$p_4 = 0$，几何平均随之归零，尽管大部分词都是对的。
# 平滑（Smoothing）给这类阶数一个很小的非零精确率。我们在每个句子上把 `exp` 平滑与 SacreBLEU 对比，
# 然后说明分词会改变分数：使用 SacreBLEU 默认的 `13a` 分词器时，句末的句号会单独成为一个 token。

# %%
for cand, rs in CORPUS:
    ours_exp = corpus_bleu([cand.split()], [[r.split() for r in rs]], smooth="exp")["bleu"]
    sacre_exp = sacrebleu.corpus_bleu([cand], [[r] for r in rs], tokenize="none", smooth_method="exp").score
    assert abs(100 * ours_exp - sacre_exp) < 0.01, (cand, ours_exp, sacre_exp)
    print(f"exp smoothing: ours {100 * ours_exp:6.3f} | SacreBLEU {sacre_exp:6.3f} | {cand!r}")

punct_cand, punct_ref = CANDIDATE + ".", REFERENCE + "."
by_tokenizer = {tok: sacrebleu.corpus_bleu([punct_cand], [[punct_ref]], tokenize=tok).score for tok in ("none", "13a")}
assert abs(by_tokenizer["none"] - by_tokenizer["13a"]) > 1
print(f"same strings ending in '.': tokenize='none' {by_tokenizer['none']:.2f} vs '13a' {by_tokenizer['13a']:.2f}")

# %% [markdown] tags=["en"]
# ## ROUGE-N and ROUGE-L { #rouge }
#
# ROUGE-N counts the overlapping n-grams, $\sum_g \min(\text{count}_c(g), \text{count}_r(g))$, and divides
# by the reference's n-grams for recall and by the candidate's for precision. ROUGE-L replaces the n-gram
# overlap with the length of the longest common subsequence (LCS), computed by dynamic programming.
# `rouge-score` reports precision, recall and F1 for each. Its default tokenizer lowercases the text and
# keeps only runs of `[a-z0-9]`, so punctuation disappears; with `use_stemmer=False` no stemming is done.
# Note the argument order: `scorer.score(target, prediction)`, reference first.

# %% [markdown] tags=["zh"]
# ## ROUGE-N 与 ROUGE-L { #rouge }
#
# ROUGE-N 统计重叠的 n-gram 数 $\sum_g \min(\text{count}_c(g), \text{count}_r(g))$，除以参考文本的 n-gram 数得到召回率，
# 除以候选文本的 n-gram 数得到精确率。ROUGE-L 把 n-gram 重叠换成最长公共子序列（Longest Common Subsequence，LCS）
# 的长度，用动态规划计算。`rouge-score` 对每种指标都报告精确率、召回率和 F1。它的默认分词器先转小写，
# 只保留由 `[a-z0-9]` 组成的片段，标点因此被丢掉；`use_stemmer=False` 时不做词干化。
# 注意参数顺序：`scorer.score(target, prediction)`，参考文本在前。

# %%
def rouge_tokenize(text):
    """rouge-score's default tokenizer without stemming: lowercase, keep runs of [a-z0-9]."""
    return re.findall(r"[a-z0-9]+", text.lower())


def prf(overlap, n_candidate, n_reference):
    """Precision, recall and F1 from an overlap count and the two sizes."""
    precision = overlap / n_candidate if n_candidate else 0.0
    recall = overlap / n_reference if n_reference else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def rouge_n(candidate, reference, n):
    cand, ref = ngrams(rouge_tokenize(candidate), n), ngrams(rouge_tokenize(reference), n)
    overlap = sum((cand & ref).values())  # & keeps the minimum count of each n-gram
    return prf(overlap, sum(cand.values()), sum(ref.values()))


def lcs_length(a, b):
    """Longest common subsequence of two token lists, by dynamic programming in O(|a| |b|)."""
    prev = [0] * (len(b) + 1)
    for x in a:
        curr = [0]
        for j, y in enumerate(b):
            curr.append(prev[j] + 1 if x == y else max(prev[j + 1], curr[j]))
        prev = curr
    return prev[-1]


def rouge_l(candidate, reference):
    cand, ref = rouge_tokenize(candidate), rouge_tokenize(reference)
    return prf(lcs_length(cand, ref), len(cand), len(ref))


page = {"rouge1": rouge_n(CANDIDATE, REFERENCE, 1), "rouge2": rouge_n(CANDIDATE, REFERENCE, 2),
        "rougeL": rouge_l(CANDIDATE, REFERENCE)}
for name, (p, r, f) in page.items():
    print(f"{name}: P {p:.3f}  R {r:.3f}  F1 {f:.3f}")
assert [round(x, 3) for x in page["rouge1"]] == [1.0, 0.833, 0.909]
assert [round(x, 3) for x in page["rouge2"]] == [0.75, 0.6, 0.667]
assert [round(x, 3) for x in page["rougeL"]] == [1.0, 0.833, 0.909]

# %%
scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=False)
ROUGE_PAIRS = [(c, rs[0]) for c, rs in CORPUS] + [  # (candidate, reference)
    ("The Cat, the cat... SAT!", "the cat sat on the mat"),
    ("police killed the gunman", "the gunman killed police"),
    ("", "an empty candidate scores zero"),
]
for cand, ref in ROUGE_PAIRS:
    lib = scorer.score(ref, cand)
    ours_rouge = {"rouge1": rouge_n(cand, ref, 1), "rouge2": rouge_n(cand, ref, 2), "rougeL": rouge_l(cand, ref)}
    for name, values in ours_rouge.items():
        np.testing.assert_allclose(values, tuple(lib[name]), atol=1e-12, err_msg=f"{name} {cand!r}")
print(f"ROUGE-1/2/L precision, recall and F1 match rouge-score on {len(ROUGE_PAIRS)} pairs")
word_order = scorer.score("the gunman killed police", "police killed the gunman")
print(f"word order: 'police killed the gunman' vs 'the gunman killed police': "
      f"ROUGE-1 F1 {word_order['rouge1'].fmeasure:.2f}, ROUGE-L F1 {word_order['rougeL'].fmeasure:.2f}")

# %% [markdown] tags=["en"]
# The last line shows what lexical overlap misses: the two sentences mean opposite things, yet every
# unigram matches and the LCS covers half of each.

# %% [markdown] tags=["zh"]
# 最后一行说明了词面重叠的盲区：两句话意思相反，一元组却全部匹配，LCS 也覆盖了各自的一半。

# %% [markdown] tags=["en"]
# ## Precision, recall, F1 and accuracy { #classification }
#
# The page's spam classifier: 1,000 emails, 50 of them spam; it flags 40, of which 30 are spam. So
# $TP = 30$, $FP = 10$, $FN = 20$, $TN = 940$. We rebuild label arrays from these four counts, compute the
# metrics from the confusion matrix, and compare with scikit-learn. Macro-averaging takes the unweighted
# mean of the per-class scores; micro-averaging pools the counts of all classes first.

# %% [markdown] tags=["zh"]
# ## 精确率、召回率、F1 与准确率 { #classification }
#
# 问答页中的垃圾邮件分类器：1000 封邮件中有 50 封垃圾邮件，分类器标记了 40 封，其中 30 封确实是垃圾邮件。
# 因此 $TP = 30$、$FP = 10$、$FN = 20$、$TN = 940$。我们用这四个数重建标签数组，从混淆矩阵（Confusion Matrix）
# 计算各项指标，再与 scikit-learn 对比。宏平均（Macro-Average）对各类别的得分取不加权平均；
# 微平均（Micro-Average）先把所有类别的计数汇总再计算。

# %%
def confusion_counts(y_true, y_pred, positive):
    """TP, FP, FN, TN for one class treated as positive."""
    t, p = np.asarray(y_true) == positive, np.asarray(y_pred) == positive
    return int((t & p).sum()), int((~t & p).sum()), int((t & ~p).sum()), int((~t & ~p).sum())


def safe_div(a, b):
    return a / b if b else 0.0  # the zero_division=0 convention


def per_class_prf(y_true, y_pred, positive):
    tp, fp, fn, _ = confusion_counts(y_true, y_pred, positive)
    return prf(tp, tp + fp, tp + fn)  # overlap = TP, "candidate" = predicted, "reference" = actual


def classification_report(y_true, y_pred):
    """Accuracy, macro- and micro-averaged F1, balanced accuracy and MCC from scratch."""
    classes = sorted(set(y_true) | set(y_pred))
    per_class = {c: per_class_prf(y_true, y_pred, c) for c in classes}
    counts = [confusion_counts(y_true, y_pred, c) for c in classes]
    tp, fp, fn = (sum(c[i] for c in counts) for i in range(3))
    n = len(y_true)
    # MCC in its multiclass form (Gorodkin's R_K); for two classes it is the usual TP/FP/FN/TN formula
    t_k = np.array([tp_c + fn_c for tp_c, _, fn_c, _ in counts])  # actual count of each class
    p_k = np.array([tp_c + fp_c for tp_c, fp_c, _, _ in counts])  # predicted count of each class
    correct = sum(c[0] for c in counts)
    mcc = safe_div(correct * n - t_k @ p_k, math.sqrt((n**2 - p_k @ p_k) * (n**2 - t_k @ t_k)))
    return {
        "accuracy": correct / n,
        "macro_f1": float(np.mean([f for _, _, f in per_class.values()])),
        "micro_f1": prf(tp, tp + fp, tp + fn)[2],
        "balanced_accuracy": float(np.mean([r for _, r, _ in per_class.values()])),
        "mcc": mcc,
        "per_class": per_class,
    }


def labels_from_counts(tp, fp, fn, tn):
    """1 = spam, 0 = not spam; the order of the examples does not matter for these metrics."""
    y_true = np.array([1] * tp + [0] * fp + [1] * fn + [0] * tn)
    y_pred = np.array([1] * tp + [1] * fp + [0] * fn + [0] * tn)
    return y_true, y_pred


y_true, y_pred = labels_from_counts(tp=30, fp=10, fn=20, tn=940)
report = classification_report(y_true, y_pred)
p_spam, r_spam, f1_spam = report["per_class"][1]
f1_ham = report["per_class"][0][2]

library = {
    "accuracy": skm.accuracy_score(y_true, y_pred),
    "precision (spam)": skm.precision_score(y_true, y_pred),
    "recall (spam)": skm.recall_score(y_true, y_pred),
    "F1 (spam)": skm.f1_score(y_true, y_pred),
    "F1 (not spam)": skm.f1_score(y_true, y_pred, pos_label=0),
    "macro-F1": skm.f1_score(y_true, y_pred, average="macro"),
    "micro-F1": skm.f1_score(y_true, y_pred, average="micro"),
    "balanced accuracy": skm.balanced_accuracy_score(y_true, y_pred),
    "MCC": skm.matthews_corrcoef(y_true, y_pred),
}
scratch = dict(zip(library, [report["accuracy"], p_spam, r_spam, f1_spam, f1_ham, report["macro_f1"],
                             report["micro_f1"], report["balanced_accuracy"], report["mcc"]]))
PAGE_VALUES = {"accuracy": 0.970, "precision (spam)": 0.750, "recall (spam)": 0.600, "F1 (spam)": 0.667,
               "F1 (not spam)": 0.984, "macro-F1": 0.825, "micro-F1": 0.970, "balanced accuracy": 0.795,
               "MCC": 0.656}
print(f"{'metric':>18} | scratch | sklearn | page")
for name, value in scratch.items():
    assert math.isclose(value, library[name], abs_tol=1e-12), (name, value, library[name])
    assert round(value, 3) == PAGE_VALUES[name], (name, value)
    print(f"{name:>18} | {value:7.4f} | {library[name]:7.4f} | {PAGE_VALUES[name]:.3f}")

# %% [markdown] tags=["en"]
# The page's point about imbalance: a classifier that never flags spam gets 95% accuracy and still
# catches no spam. Macro-F1 exposes it, because the spam class counts as much as the other one.
# Finally, a three-class problem with random labels checks the macro, micro and weighted averages
# and the multiclass MCC against scikit-learn.

# %% [markdown] tags=["zh"]
# 问答页关于类别不平衡的观点：一个从不标记垃圾邮件的分类器准确率有 95%，却一封垃圾邮件也抓不到。
# 宏平均 F1 能揭示这一点，因为垃圾邮件这一类与另一类的权重相同。最后用一个随机标签的三分类问题，
# 把宏平均、微平均、加权平均以及多分类 MCC 与 scikit-learn 对比。

# %%
y_true_never, y_pred_never = labels_from_counts(tp=0, fp=0, fn=50, tn=950)
never = classification_report(y_true_never, y_pred_never)
assert never["accuracy"] == 0.95 and never["per_class"][1][1] == 0.0
assert math.isclose(never["macro_f1"], skm.f1_score(y_true_never, y_pred_never, average="macro", zero_division=0))
print(f"never flag spam: accuracy {never['accuracy']:.3f}, spam recall {never['per_class'][1][1]:.1f}, "
      f"macro-F1 {never['macro_f1']:.3f}")

rng = np.random.default_rng(0)
y_true_3 = rng.choice(3, size=300, p=[0.6, 0.3, 0.1])
y_pred_3 = np.where(rng.random(300) < 0.7, y_true_3, rng.choice(3, size=300))  # 70% copied, 30% random
multi = classification_report(y_true_3, y_pred_3)
support = np.bincount(y_true_3) / len(y_true_3)
weighted_f1 = float(support @ np.array([f for _, _, f in multi["per_class"].values()]))
checks = {
    "macro_f1": skm.f1_score(y_true_3, y_pred_3, average="macro"),
    "micro_f1": skm.f1_score(y_true_3, y_pred_3, average="micro"),
    "balanced_accuracy": skm.balanced_accuracy_score(y_true_3, y_pred_3),
    "mcc": skm.matthews_corrcoef(y_true_3, y_pred_3),
}
for name, value in checks.items():
    assert math.isclose(multi[name], value, abs_tol=1e-12), (name, multi[name], value)
assert math.isclose(weighted_f1, skm.f1_score(y_true_3, y_pred_3, average="weighted"), abs_tol=1e-12)
assert math.isclose(multi["micro_f1"], multi["accuracy"], abs_tol=1e-12)  # single-label: micro-F1 = accuracy
print(f"3 classes: accuracy {multi['accuracy']:.3f} = micro-F1 {multi['micro_f1']:.3f}, "
      f"macro-F1 {multi['macro_f1']:.3f}, weighted-F1 {weighted_f1:.3f}, MCC {multi['mcc']:.3f} (all match sklearn)")

# %% [markdown] tags=["en"]
# ## pass@k { #pass-at-k }
#
# Draw $n$ programs for a problem and let $c$ of them pass the tests. pass@k estimates the chance that at
# least one of $k$ programs passes. The unbiased estimator is the probability that a random $k$-subset
# of the $n$ samples contains a passing one:
#
# $$
# \widehat{\text{pass@}k} = 1 - \frac{\binom{n-c}{k}}{\binom{n}{k}}
# = 1 - \prod_{i=n-c+1}^{n}\left(1 - \frac{k}{i}\right)
# $$
#
# The product form avoids huge binomials. We check both forms against brute force: enumerate every
# $k$-subset of the $n$ samples and count the subsets with at least one pass.

# %% [markdown] tags=["zh"]
# ## pass@k { #pass-at-k }
#
# 对一道题采样 $n$ 个程序，其中 $c$ 个通过测试。pass@k 估计的是 $k$ 个程序中至少有一个通过的概率。
# 无偏估计量就是从 $n$ 个样本中随机取 $k$ 个，其中至少有一个通过的概率：
#
# $$
# \widehat{\text{pass@}k} = 1 - \frac{\binom{n-c}{k}}{\binom{n}{k}}
# = 1 - \prod_{i=n-c+1}^{n}\left(1 - \frac{k}{i}\right)
# $$
#
# 乘积形式避免了巨大的二项式系数。我们用穷举核对两种形式：枚举 $n$ 个样本的每个 $k$ 元子集，统计至少含一个通过样本的子集。

# %%
def pass_at_k(n, c, k):
    """Unbiased pass@k for one problem with n samples of which c pass (numerically stable form)."""
    if n - c < k:
        return 1.0  # every k-subset contains a passing sample
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def pass_at_k_binomial(n, c, k):
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_at_k_brute_force(n, c, k):
    """Fraction of all k-subsets of the n samples (the first c pass) that contain a pass."""
    subsets = list(itertools.combinations(range(n), k))
    return sum(any(i < c for i in s) for s in subsets) / len(subsets)


N_SMALL = 10
for c in range(N_SMALL + 1):
    for k in range(1, N_SMALL + 1):
        exact = pass_at_k_brute_force(N_SMALL, c, k)
        assert math.isclose(pass_at_k(N_SMALL, c, k), exact, abs_tol=1e-12), (c, k)
        assert math.isclose(pass_at_k_binomial(N_SMALL, c, k), exact, abs_tol=1e-12), (c, k)
print(f"n={N_SMALL}: both formulas equal brute-force enumeration for every c in 0..{N_SMALL}, k in 1..{N_SMALL}")


def pass_at_k_naive(n, c, k):
    """The biased plug-in: treat c/n as the true pass rate, as if samples were drawn with replacement."""
    return 1.0 - (1.0 - c / n) ** k


# the page's worked example: n = 10, c = 3
assert round(pass_at_k(10, 3, 1), 3) == 0.300 and round(pass_at_k(10, 3, 5), 3) == 0.917
assert math.isclose(pass_at_k(10, 3, 5), 1 - 21 / 252) and round(pass_at_k_naive(10, 3, 5), 3) == 0.832
print(f"n=10, c=3: pass@1 {pass_at_k(10, 3, 1):.3f}, pass@5 {pass_at_k(10, 3, 5):.3f}, "
      f"naive pass@5 {pass_at_k_naive(10, 3, 5):.3f}")

# %% [markdown] tags=["en"]
# **Why "unbiased".** Suppose each sample passes independently with probability $p$, so the true value
# is $1-(1-p)^k$ and $c \sim \operatorname{Binomial}(n, p)$. Averaging an estimator over the binomial
# distribution of $c$ gives its expected value exactly, with no simulation. The unbiased estimator
# averages to the true value for every $k \le n$. The plug-in $1-(1-c/n)^k$ is too low on average for
# every $k \ge 2$: the function $(1-x)^k$ is convex, so by Jensen's inequality noise in $c/n$ raises
# $\mathbb{E}[(1-c/n)^k]$ above $(1-p)^k$.

# %% [markdown] tags=["zh"]
# **为什么叫「无偏」。** 设每个样本以概率 $p$ 独立通过，则真实值为 $1-(1-p)^k$，且 $c \sim \operatorname{Binomial}(n, p)$。
# 在 $c$ 的二项分布上对估计量求平均，就能精确得到它的期望，无需模拟。对所有 $k \le n$，无偏估计量的期望都等于真实值；
# 而代入式 $1-(1-c/n)^k$ 在 $k \ge 2$ 时平均偏低：$(1-x)^k$ 是凸函数，由 Jensen 不等式，$c/n$ 的波动会使
# $\mathbb{E}[(1-c/n)^k]$ 大于 $(1-p)^k$。

# %%
N_SAMPLES, P_PASS = 20, 0.1
KS = np.arange(1, N_SAMPLES + 1)
c_pmf = [math.comb(N_SAMPLES, c) * P_PASS**c * (1 - P_PASS) ** (N_SAMPLES - c) for c in range(N_SAMPLES + 1)]


def expected(estimator, k):
    """E over c ~ Binomial(N_SAMPLES, P_PASS) of estimator(N_SAMPLES, c, k), computed exactly."""
    return sum(w * estimator(N_SAMPLES, c, k) for c, w in enumerate(c_pmf))


true_pass = 1 - (1 - P_PASS) ** KS
mean_unbiased = np.array([expected(pass_at_k, k) for k in KS])
mean_naive = np.array([expected(pass_at_k_naive, k) for k in KS])
np.testing.assert_allclose(mean_unbiased, true_pass, atol=1e-12)
naive_gap = true_pass - mean_naive
assert math.isclose(naive_gap[0], 0, abs_tol=1e-12) and (np.diff(naive_gap) > 0).all()  # 0 at k=1, then grows
worst = int(np.argmax(naive_gap))
print(f"n={N_SAMPLES}, p={P_PASS}: E[unbiased] = true pass@k for every k; the naive plug-in is low by up to "
      f"{naive_gap[worst]:.3f} (at k={KS[worst]}: {mean_naive[worst]:.3f} vs {true_pass[worst]:.3f})")

# %%
PASS_LABELS = {
    "en": {"true": "true pass@$k$ $= 1-(1-p)^k$", "unbiased": "mean of the unbiased estimator",
           "naive": "mean of the plug-in $1-(1-c/n)^k$", "x": "$k$ (programs the user may try)",
           "y": "pass@$k$", "title": f"$n = {N_SAMPLES}$ samples per problem, pass rate $p = {P_PASS}$"},
    "zh": {"true": "真实 pass@$k$ $= 1-(1-p)^k$", "unbiased": "无偏估计量的期望",
           "naive": "代入式 $1-(1-c/n)^k$ 的期望", "x": "$k$（用户可尝试的程序数）",
           "y": "pass@$k$", "title": f"每题采样 $n = {N_SAMPLES}$ 个，通过率 $p = {P_PASS}$"},
}


def draw_pass_at_k(lang):
    labels = PASS_LABELS[lang]
    fig, ax = plt.subplots(figsize=(6.4, 3.8), layout="constrained")
    ax.plot(KS, true_pass, "-", color="gray", linewidth=4, alpha=0.5, label=labels["true"])
    ax.plot(KS, mean_unbiased, "o", markersize=4, label=labels["unbiased"])
    ax.plot(KS, mean_naive, "s--", markersize=4, label=labels["naive"])
    ax.set(xlabel=labels["x"], ylabel=labels["y"], title=labels["title"], ylim=(0, 1))
    ax.set_xticks(KS[::2])
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return fig


show(draw_pass_at_k)

# %% [markdown] tags=["en"]
# The unbiased estimator lies on the true curve for every $k$. The plug-in falls below it as soon as
# $k > 1$, and the gap grows with $k$: with few samples per problem, pass@10 or pass@100 computed as
# $1-(1-c/n)^k$ understates what the model can do.
#
# ## Takeaways { #takeaways }
#
# - Perplexity is `exp` of the mean token cross-entropy; it is only comparable across models with the
#   same tokenizer and test text.
# - BLEU is clipped n-gram precision, a geometric mean and a brevity penalty, summed over the corpus
#   before combining; the score moves with tokenization and smoothing, so report SacreBLEU's settings.
# - ROUGE-N and ROUGE-L count n-gram and LCS overlap; word order and meaning are largely invisible to them.
# - Under class imbalance, accuracy hides a useless classifier; macro-F1, balanced accuracy and MCC do not.
# - pass@k needs the combinatorial estimator: the plug-in $1-(1-c/n)^k$ underestimates it.
#
# Back to the questions: [perplexity](../evaluation.md#perplexity) ·
# [BLEU, ROUGE, METEOR](../evaluation.md#bleu-rouge-meteor) ·
# [classification metrics](../evaluation.md#classification-metrics) · [pass@k](../evaluation.md#pass-at-k) ·
# [cross-entropy for language modeling](../ml-foundations.md#cross-entropy-language-modeling) ·
# [class imbalance](../ml-foundations.md#class-imbalance).

# %% [markdown] tags=["zh"]
# 对每个 $k$，无偏估计量都落在真实曲线上。代入式从 $k > 1$ 起就低于真实值，而且差距随 $k$ 增大：
# 每题样本不多时，用 $1-(1-c/n)^k$ 算出的 pass@10 或 pass@100 会低估模型的能力。
#
# ## 小结 { #takeaways }
#
# - 困惑度是 token 平均交叉熵的指数；只有分词器和测试文本都相同时，不同模型的困惑度才可比。
# - BLEU 由截断的 n-gram 精确率、几何平均和简短惩罚组成，语料级计算时先在全语料上累加再合成；
#   分数随分词和平滑方式而变，所以要报告 SacreBLEU 的设置。
# - ROUGE-N 和 ROUGE-L 统计 n-gram 和 LCS 的重叠，基本看不到词序和语义。
# - 类别不平衡时，准确率会掩盖一个毫无用处的分类器，宏平均 F1、平衡准确率（Balanced Accuracy）和 MCC 则不会。
# - pass@k 要用组合形式的估计量：代入式 $1-(1-c/n)^k$ 会低估它。
#
# 回到问答页：[困惑度](../evaluation.md#perplexity) · [BLEU、ROUGE、METEOR](../evaluation.md#bleu-rouge-meteor) ·
# [分类指标](../evaluation.md#classification-metrics) · [pass@k](../evaluation.md#pass-at-k) ·
# [语言建模中的交叉熵](../ml-foundations.md#cross-entropy-language-modeling) ·
# [类别不平衡](../ml-foundations.md#class-imbalance)。
