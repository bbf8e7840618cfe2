# %% [markdown] tags=["en"]
# # Tiny GPT
#
# This notebook trains a decoder-only Transformer, a GPT in miniature, on the English pages of this
# handbook, one byte at a time, on a CPU in about twenty seconds. It measures the validation
# perplexity, checks that the model beats unigram and bigram baselines by a clear margin, and generates
# text with greedy decoding and with temperature sampling. It illustrates the answers on
# [what an LLM is](../fundamentals.md#what-is-an-llm), [core terminology](../fundamentals.md#core-terminology)
# and [perplexity](../evaluation.md#perplexity), and it is a worked answer to the coding question "train a
# tiny Transformer on a small text corpus". The block itself is built and checked piece by piece in the
# [Transformer block notebook](transformer-block.ipynb). Seeds and the number of steps are fixed, so the
# numbers below are reproducible, and the comparisons with the baselines are `assert`s.

# %% [markdown] tags=["zh"]
# # 微型 GPT
#
# 本 notebook 在 CPU 上用大约二十秒训练一个 decoder-only Transformer，也就是一个缩小版的 GPT。训练数据是本手册的英文页面，
# 按字节建模。我们测量验证集困惑度（Perplexity），确认模型明显优于一元（Unigram）和二元（Bigram）基线，
# 并分别用贪心解码（Greedy Decoding）和温度采样（Temperature Sampling）生成文本。对应问答页中的
# [什么是大语言模型](../fundamentals.md#what-is-an-llm)、[核心术语](../fundamentals.md#core-terminology)和
# [困惑度](../evaluation.md#perplexity)，也是编程题「在小语料上训练一个微型 Transformer」的参考答案。
# Transformer 块本身在 [Transformer 块 notebook](transformer-block.ipynb) 中逐个部件地搭建并校验过。
# 随机种子和训练步数都是固定的，下面的数字可以复现；与基线的比较都写成了 `assert`。

# %%
import math
import random
import time
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from _figures import show
from torch import nn

SEED = 0
random.seed(SEED)
np.random.seed(SEED)
torch.manual_seed(SEED)
# Small matrices: one thread is nearly as fast as two, and does not collapse when the CPU is shared.
torch.set_num_threads(1)

# %% [markdown] tags=["en"]
# ## The corpus { #corpus }
#
# The corpus is the Markdown source of the English pages, read as it is. The last 10% of every page is
# held out for validation: both halves cover every topic, and no validation text is seen in training.
# The vocabulary is the 256 byte values of UTF-8: the tokenizer needs no training and encodes any string.
# An English letter is one byte, a Chinese character three; the pages are almost all ASCII, so a byte is
# nearly always a character. Perplexities are therefore per byte. They are not comparable with the
# per-token perplexities of models that use a subword tokenizer, which is why evaluations across
# tokenizers report bits per byte.

# %% [markdown] tags=["zh"]
# ## 语料 { #corpus }
#
# 语料是英文页面的 Markdown 源文件，原样读入。每个页面的最后 10% 留作验证集：训练集和验证集都覆盖所有主题，而验证集的文本在训练中从未出现。
# 词表就是 UTF-8 的 256 个字节值：分词器不需要训练，任何字符串都能编码。一个英文字母占一个字节，一个汉字占三个；
# 这些页面几乎全是 ASCII，所以一个字节基本上就是一个字符。因此这里的困惑度是按字节计算的，
# 不能与使用子词分词器（Subword Tokenizer）的模型按 token 计算的困惑度直接比较；这也是跨分词器的评测改用每字节比特数（Bits Per Byte）的原因。

# %%
DOCS = Path("..") / "docs" / "en"
VAL_FRACTION = 0.1

pages = [path.read_text(encoding="utf-8") for path in sorted(DOCS.glob("*.md"))]
cuts = [int(len(page) * (1 - VAL_FRACTION)) for page in pages]
train_text = "".join(page[:cut] for page, cut in zip(pages, cuts))
val_text = "".join(page[cut:] for page, cut in zip(pages, cuts))

VOCAB = 256  # byte values


def encode(text):
    return torch.tensor(list(text.encode("utf-8")), dtype=torch.long)


def decode(ids):
    return bytes(ids.tolist()).decode("utf-8", errors="replace")  # a sample may cut a character in half


train_ids, val_ids = encode(train_text), encode(val_text)
assert decode(encode("Attention 注意力")) == "Attention 注意力" and len(encode("注")) == 3
print(f"{len(pages)} pages: {len(train_ids):,} training and {len(val_ids):,} validation bytes; "
      f"{(train_ids < 128).float().mean():.1%} of the training bytes are ASCII")

# %% [markdown] tags=["en"]
# ## Baselines: unigram and bigram { #baselines }
#
# A model is only good relative to something simpler. The unigram model predicts every byte with its
# training frequency and ignores the context; the bigram model conditions on the previous byte. Both
# count on the training text and add one to every count (Laplace smoothing), so no byte gets probability
# zero. All models are scored on the same validation targets: the text is cut into non-overlapping
# windows of `CONTEXT` bytes, and each model predicts each next byte, with
#
# $$
# \operatorname{PPL} = \exp\!\left(-\frac{1}{N}\sum_{i=1}^{N}\log p(x_i \mid x_{<i})\right).
# $$
#
# A model that knows nothing and spreads its probability uniformly has $\operatorname{PPL} = |V|$.

# %% [markdown] tags=["zh"]
# ## 基线：一元模型与二元模型 { #baselines }
#
# 模型好不好，要和更简单的方法比。一元模型按训练集中的频率预测每个字节，完全不看上下文；二元模型以前一个字节为条件。
# 两者都在训练文本上计数，并给每个计数加一（拉普拉斯平滑，Laplace Smoothing），保证没有字节的概率为零。
# 所有模型都在同样的验证目标上打分：把验证文本切成互不重叠、长度为 `CONTEXT` 个字节的窗口，每个模型预测其中每一个下一个字节，
#
# $$
# \operatorname{PPL} = \exp\!\left(-\frac{1}{N}\sum_{i=1}^{N}\log p(x_i \mid x_{<i})\right).
# $$
#
# 一个什么都不知道、把概率均匀分配的模型，$\operatorname{PPL} = |V|$。

# %%
CONTEXT = 32  # bytes the model sees; also the length of the validation windows

n_windows = (len(val_ids) - 1) // CONTEXT
val_inputs = val_ids[: n_windows * CONTEXT].view(n_windows, CONTEXT)
val_targets = val_ids[1 : n_windows * CONTEXT + 1].view(n_windows, CONTEXT)


def perplexity(target_log_probs):
    """exp of the mean negative log-likelihood (natural log) of the targets."""
    return math.exp(-target_log_probs.double().mean().item())


unigram_counts = torch.bincount(train_ids, minlength=VOCAB).double() + 1  # add-one smoothing
unigram_log_probs = (unigram_counts / unigram_counts.sum()).log()
bigram_counts = torch.ones(VOCAB, VOCAB, dtype=torch.float64)  # add-one smoothing
bigram_counts.index_put_((train_ids[:-1], train_ids[1:]), torch.ones(len(train_ids) - 1, dtype=torch.float64), accumulate=True)
bigram_log_probs = (bigram_counts / bigram_counts.sum(1, keepdim=True)).log()  # row = previous byte

ppl_uniform = perplexity(torch.full(val_targets.shape, -math.log(VOCAB)))
ppl_unigram = perplexity(unigram_log_probs[val_targets])
ppl_bigram = perplexity(bigram_log_probs[val_inputs, val_targets])
print(f"validation perplexity per byte: uniform {ppl_uniform:.1f}, unigram {ppl_unigram:.2f}, bigram {ppl_bigram:.2f}")
assert math.isclose(ppl_uniform, VOCAB, rel_tol=1e-6) and ppl_bigram < ppl_unigram < ppl_uniform

# %% [markdown] tags=["en"]
# ## The model { #model }
#
# Token and learned position embeddings, a stack of pre-LN decoder blocks, a final LayerNorm and a
# linear layer that gives one logit per byte value. The block is the one from the
# [Transformer block notebook](transformer-block.ipynb#decoder-block), except that
# `F.scaled_dot_product_attention(..., is_causal=True)` computes the causal attention, which is faster.
# The parameter count follows the formula of that notebook, with $L$ blocks of width $d$ and
# $n_{\text{ctx}}$ = `CONTEXT` learned positions:
#
# $$
# N = \underbrace{|V|d + n_{\text{ctx}}\,d}_{\text{embeddings}} + L\,(12d^2 + 13d) + \underbrace{2d}_{\text{final LN}} + \underbrace{d\,|V| + |V|}_{\text{output layer}} ,
# $$
#
# Two checks before training. At initialization the logits are small, so the model predicts roughly the
# uniform distribution and its loss must be close to $\ln |V|$; a much larger loss means a broken
# initialization. And the model must be causal: changing later bytes must not change the
# logits at earlier positions.
#
# The model has a single block of width 96. We also tried two blocks of width 64: on this CPU budget the
# single wider block reached a lower validation perplexity in less time. Depth pays off with longer
# training; set `N_LAYERS` higher and raise `STEPS` to see it.

# %% [markdown] tags=["zh"]
# ## 模型 { #model }
#
# 模型由词元嵌入和可学习的位置嵌入、若干个 pre-LN 解码器块、最后一个 LayerNorm，以及为每个字节值输出一个 logit 的线性层组成。
# 块的结构与 [Transformer 块 notebook](transformer-block.ipynb#decoder-block) 中的相同，只是因果注意力改由更快的
# `F.scaled_dot_product_attention(..., is_causal=True)` 计算。设有 $L$ 个宽度为 $d$ 的块、$n_{\text{ctx}}$ = `CONTEXT` 个可学习的位置，
# 参数量符合那个 notebook 中的公式：
#
# $$
# N = \underbrace{|V|d + n_{\text{ctx}}\,d}_{\text{embeddings}} + L\,(12d^2 + 13d) + \underbrace{2d}_{\text{final LN}} + \underbrace{d\,|V| + |V|}_{\text{output layer}} ,
# $$
#
# 训练前先做两项检查。初始化时 logit 很小，模型的预测接近均匀分布，损失应接近 $\ln |V|$；如果大很多，说明初始化有问题。
# 另外模型必须满足因果性：修改后面的字节，不能改变前面位置的 logit。
#
# 这个模型只有一个宽度为 96 的块。我们也试过两个宽度为 64 的块：在这样的 CPU 时间预算下，单个更宽的块用更短的时间达到了更低的验证集困惑度。
# 加深模型要配合更长的训练才划算；可以调大 `N_LAYERS` 并增加 `STEPS` 来验证。

# %%
class Block(nn.Module):
    """Pre-LN decoder block: x + Attn(LN(x)), then x + FFN(LN(x))."""

    def __init__(self, d_model, n_heads):
        super().__init__()
        self.n_heads = n_heads
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        self.ffn = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        heads = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.out(heads.transpose(1, 2).reshape(b, t, d))
        return x + self.ffn(self.ln2(x))


class TinyGPT(nn.Module):
    """Decoder-only Transformer: ids (B, T) -> next-byte logits (B, T, vocab)."""

    def __init__(self, vocab_size, context, d_model, n_layers, n_heads):
        super().__init__()
        self.context = context
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(context, d_model)
        self.blocks = nn.Sequential(*[Block(d_model, n_heads) for _ in range(n_layers)])
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size)

    def forward(self, ids):
        positions = torch.arange(ids.size(1), device=ids.device)
        return self.head(self.ln_f(self.blocks(self.tok(ids) + self.pos(positions))))


D_MODEL, N_LAYERS, N_HEADS = 96, 1, 4  # one wide block: see the note above
model = TinyGPT(VOCAB, CONTEXT, D_MODEL, N_LAYERS, N_HEADS)

n_params = sum(p.numel() for p in model.parameters())
d = D_MODEL
expected = VOCAB * d + CONTEXT * d + N_LAYERS * (12 * d**2 + 13 * d) + 2 * d + d * VOCAB + VOCAB
assert n_params == expected, (n_params, expected)
print(f"{n_params:,} parameters, as the formula says; the blocks hold {N_LAYERS * (12 * d**2 + 13 * d) / n_params:.0%}")

with torch.no_grad():
    loss_at_init = F.cross_entropy(model(val_inputs[:64]).flatten(0, 1), val_targets[:64].flatten()).item()
    print(f"loss at initialization {loss_at_init:.3f}, ln |V| = {math.log(VOCAB):.3f}")
    assert abs(loss_at_init - math.log(VOCAB)) < 0.5

    ids = val_inputs[:4]
    changed = ids.clone()
    changed[:, 20:] = torch.randint(VOCAB, (4, CONTEXT - 20))
    torch.testing.assert_close(model(changed)[:, :20], model(ids)[:, :20])
    print("changing bytes 20-31 leaves the logits at positions 0-19 unchanged")

# %% [markdown] tags=["en"]
# ## Training { #training }
#
# Next-byte prediction with cross-entropy, on random windows of the training text. AdamW with a
# short linear warm-up and a cosine decay to 10% of the peak rate, as in
# [learning-rate schedules](../training.md#learning-rate-schedules), and gradient clipping at norm 1.
# The batch generator has its own seed, so the same run gives the same numbers. Every 50 steps we
# estimate the validation loss on a fixed sample of 128 windows for the curve; the final number uses the
# whole validation text.

# %% [markdown] tags=["zh"]
# ## 训练 { #training }
#
# 在训练文本的随机窗口上做下一个字节预测，损失为交叉熵（Cross-Entropy）。优化器用 AdamW，先短暂线性预热，再按余弦衰减到峰值的
# 10%，与[学习率调度](../training.md#learning-rate-schedules)一题中的做法相同，并把梯度范数裁剪到 1。
# 取批次的随机数生成器有自己的种子，所以同样的运行得到同样的数字。每 50 步在固定的 128 个验证窗口上估计一次验证损失，
# 用来画曲线；最终数字则在整个验证集上计算。

# %%
STEPS, BATCH, PEAK_LR, WARMUP = 600, 16, 1e-2, 50
EVAL_EVERY, EVAL_WINDOWS = 50, 128


def lr_at(step, max_lr=PEAK_LR, warmup=WARMUP, total=STEPS, min_ratio=0.1):
    """Linear warm-up, then cosine decay to min_ratio * max_lr."""
    if step < warmup:
        return max_lr * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    min_lr = min_ratio * max_lr
    return min_lr + 0.5 * (max_lr - min_lr) * (1 + math.cos(math.pi * progress))


def random_batch(data, generator, batch=BATCH, context=CONTEXT):
    """Inputs and next-byte targets for `batch` random windows of `data`."""
    starts = torch.randint(len(data) - context - 1, (batch,), generator=generator)
    x = torch.stack([data[s : s + context] for s in starts])
    y = torch.stack([data[s + 1 : s + context + 1] for s in starts])
    return x, y


@torch.no_grad()
def target_log_probs(model, inputs, targets, chunk=256):
    """log p(target | prefix) for every target, in chunks of windows."""
    model.eval()
    out = []
    for i in range(0, len(inputs), chunk):
        log_probs = F.log_softmax(model(inputs[i : i + chunk]).double(), dim=-1)
        out.append(log_probs.gather(-1, targets[i : i + chunk, :, None])[..., 0])
    model.train()
    return torch.cat(out)


eval_sample = torch.randperm(n_windows, generator=torch.Generator().manual_seed(SEED))[:EVAL_WINDOWS]
optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK_LR, betas=(0.9, 0.99), weight_decay=0.01)
batches = torch.Generator().manual_seed(SEED)
train_losses, val_curve = [], []

started = time.perf_counter()
for step in range(STEPS):
    for group in optimizer.param_groups:
        group["lr"] = lr_at(step)
    x, y = random_batch(train_ids, batches)
    loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
    train_losses.append(loss.item())
    if (step + 1) % EVAL_EVERY == 0:
        sample_lp = target_log_probs(model, val_inputs[eval_sample], val_targets[eval_sample])
        val_curve.append((step + 1, -sample_lp.mean().item()))
train_seconds = time.perf_counter() - started
print(f"{STEPS} steps of {BATCH} x {CONTEXT} bytes ({STEPS * BATCH * CONTEXT:,} bytes, "
      f"{STEPS * BATCH * CONTEXT / len(train_ids):.2f} epochs) in {train_seconds:.1f} s")
print("validation loss (sample) every 100 steps:", ", ".join(f"{loss:.2f}" for step, loss in val_curve if step % 100 == 0))

# %% [markdown] tags=["en"]
# ## Validation perplexity { #validation-perplexity }
#
# The perplexity is computed from the log-probabilities of all validation targets. As a check on the
# formula, the mean negative log-probability must equal PyTorch's cross-entropy on the same logits,
# that is $\operatorname{PPL} = e^{\text{validation loss}}$. We also score a sample of training windows:
# the model sees less than one epoch, so training and validation loss should be close.

# %% [markdown] tags=["zh"]
# ## 验证集困惑度 { #validation-perplexity }
#
# 困惑度由全部验证目标的对数概率算出。为了核对公式，平均负对数概率必须等于 PyTorch 在同样 logit 上算出的交叉熵，
# 即 $\operatorname{PPL} = e^{\text{validation loss}}$。我们还在一部分训练窗口上打分：模型训练不到一个 epoch，
# 训练损失和验证损失应当接近。

# %%
val_lp = target_log_probs(model, val_inputs, val_targets)
ppl_model = perplexity(val_lp)

model.eval()
with torch.no_grad():
    ce = F.cross_entropy(model(val_inputs[:256]).double().flatten(0, 1), val_targets[:256].flatten())
model.train()
torch.testing.assert_close(-val_lp[:256].mean(), ce)

train_windows = train_ids[: 512 * CONTEXT + 1]
train_lp = target_log_probs(model, train_windows[:-1].view(-1, CONTEXT), train_windows[1:].view(-1, CONTEXT))
train_loss, val_loss = -train_lp.mean().item(), -val_lp.mean().item()

print(f"validation loss {val_loss:.3f} nats/byte = {val_loss / math.log(2):.2f} bits per byte; "
      f"training-sample loss {train_loss:.3f}")
print(f"validation perplexity: model {ppl_model:.2f} | bigram {ppl_bigram:.2f} | unigram {ppl_unigram:.2f} | uniform {VOCAB}")
print(f"model / bigram = {ppl_model / ppl_bigram:.2f}, model / unigram = {ppl_model / ppl_unigram:.2f}")

assert ppl_model < 0.75 * ppl_bigram, (ppl_model, ppl_bigram)  # clearly better than the previous byte alone
assert ppl_model < 0.4 * ppl_unigram, (ppl_model, ppl_unigram)
assert abs(val_loss - train_loss) < 0.25  # under one epoch: no overfitting yet
assert val_curve[0][1] < math.log(ppl_unigram)  # past the unigram level within the first EVAL_EVERY steps
assert val_curve[-1][1] < val_curve[-4][1]  # and still improving over the last 150 steps

# %%
CURVE_LABELS = {
    "en": {"x": "training step", "y": "cross-entropy (nats per byte)", "train": "training batch (moving average of 25)",
           "val": "validation (128 windows)", "uni": "unigram baseline", "bi": "bigram baseline"},
    "zh": {"x": "训练步数", "y": "交叉熵（nats/字节）", "train": "训练批次（25 步滑动平均）",
           "val": "验证集（128 个窗口）", "uni": "一元基线", "bi": "二元基线"},
}


def draw_loss_curve(lang):
    labels = CURVE_LABELS[lang]
    window = 25
    smooth = np.convolve(train_losses, np.ones(window) / window, mode="valid")
    fig, ax = plt.subplots(figsize=(7, 3.8), layout="constrained")
    ax.plot(np.arange(window, STEPS + 1), smooth, label=labels["train"])
    ax.plot(*zip(*val_curve), "o", markersize=4, label=labels["val"])
    ax.axhline(math.log(ppl_unigram), color="gray", linestyle="--", label=labels["uni"])
    ax.axhline(math.log(ppl_bigram), color="gray", linestyle=":", label=labels["bi"])
    ax.set(xlabel=labels["x"], ylabel=labels["y"], ylim=(1.5, 4.0))
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


show(draw_loss_curve)

# %% [markdown] tags=["en"]
# The logarithm of a perplexity is a loss, so the baselines appear as horizontal lines. The model passes
# the unigram level within the first 50 steps, when it has learned which bytes are frequent, and the
# bigram level later, once it uses more than the previous byte. The validation loss is
# still falling at the last step: the run is limited by its CPU budget, not by the data.

# %% [markdown] tags=["zh"]
# 困惑度取对数就是损失，所以基线画成水平线。模型在前 50 步内学会了哪些字节常见，超过了一元模型的水平；之后开始利用前一个字节之外的上下文，
# 又超过了二元模型。到最后一步验证损失仍在下降：限制这次训练的是 CPU 时间预算，而不是数据。

# %% [markdown] tags=["en"]
# ## Generating text { #generation }
#
# Generation runs the model in a loop: feed the last `CONTEXT` bytes, turn the logits at the last
# position into a choice, append it, repeat. Greedy decoding takes the argmax; sampling with temperature
# $T$ draws from $\operatorname{softmax}(z/T)$. As $T \to 0$ sampling becomes greedy, which we check. See
# [the decoding loop](../decoding.md#autoregressive-decoding),
# [greedy and beam search](../decoding.md#greedy-vs-beam-search) and
# [temperature](../decoding.md#sampling-temperature).

# %% [markdown] tags=["zh"]
# ## 生成文本 { #generation }
#
# 生成就是循环调用模型：输入最后 `CONTEXT` 个字节，根据最后一个位置的 logit 选出一个字节，把它接到末尾，如此重复。
# 贪心解码取 argmax；温度为 $T$ 的采样从 $\operatorname{softmax}(z/T)$ 中抽样。$T \to 0$ 时采样退化为贪心解码，下面会加以验证。
# 参见[自回归解码循环](../decoding.md#autoregressive-decoding)、[贪心解码与束搜索](../decoding.md#greedy-vs-beam-search)和
# [温度](../decoding.md#sampling-temperature)。

# %%
@torch.no_grad()
def generate(model, prompt, n_new, temperature=0.0, seed=SEED):
    """Continue `prompt` by n_new bytes: greedy if temperature == 0, else sample from softmax(z / T)."""
    model.eval()
    generator = torch.Generator().manual_seed(seed)
    ids = encode(prompt)
    for _ in range(n_new):
        logits = model(ids[-model.context :][None])[0, -1]
        if temperature == 0:
            next_id = logits.argmax()
        else:
            next_id = torch.multinomial(torch.softmax(logits / temperature, dim=-1), 1, generator=generator)[0]
        ids = torch.cat([ids, next_id.view(1)])
    model.train()
    return decode(ids)


def distinct_fraction(text, n=8):
    """Share of distinct n-byte substrings: near 1 for varied text, low when the text loops."""
    grams = [text[i : i + n] for i in range(len(text) - n + 1)]
    return len(set(grams)) / len(grams)


PROMPT, N_NEW = "The attention ", 200
greedy = generate(model, PROMPT, N_NEW)
assert greedy == generate(model, PROMPT, N_NEW)  # greedy decoding is deterministic
assert generate(model, PROMPT, 60, temperature=1e-4) == greedy[: len(PROMPT) + 60]  # T -> 0 is greedy
outputs = {"greedy": greedy} | {f"T = {t}": generate(model, PROMPT, N_NEW, temperature=t) for t in (0.7, 1.0)}

for name, text in outputs.items():
    continuation = text[len(PROMPT) :]
    print(f"--- {name} (distinct 8-grams: {distinct_fraction(continuation):.2f}) ---\n{text}\n")
assert distinct_fraction(greedy[len(PROMPT) :]) < min(0.5, distinct_fraction(outputs["T = 1.0"][len(PROMPT) :]))

# %% [markdown] tags=["en"]
# The samples have the surface statistics of the pages: frequent short words, spaces, punctuation, and
# Markdown or LaTeX symbols, but no meaning; 165 thousand parameters and less than half an epoch get no
# further. Greedy decoding falls into a loop of the most likely words,
# the [repetition problem](../decoding.md#repetition-problem) in its simplest form; the share of distinct
# 8-byte substrings ([distinct-n](../decoding.md#generation-diversity-metrics)) shows it. Sampling keeps
# the text varied, and a lower temperature trades variety for more common words.

# %% [markdown] tags=["zh"]
# 这些样本具备页面文本的表层统计特征：常见的短词、空格、标点，以及 Markdown 或 LaTeX 符号，但没有意义；
# 16.5 万个参数、不到半个 epoch 的训练只能做到这一步。贪心解码陷入了最常见词语的循环，这是
# [重复问题](../decoding.md#repetition-problem)最简单的形式；不同 8 字节子串所占的比例（[distinct-n](../decoding.md#generation-diversity-metrics)）
# 反映了这一点。采样让文本保持多样，降低温度则以多样性换取更常见的词。

# %% [markdown] tags=["en"]
# ## Takeaways { #takeaways }
#
# - A GPT is embeddings, a stack of causal decoder blocks and a linear layer over the vocabulary, trained
#   to predict the next token with cross-entropy; the targets are the text shifted by one.
# - Check before training: the initial loss should be about $\ln |V|$, and changing later tokens must
#   not change earlier logits.
# - Validation perplexity is $e^{\text{validation loss}}$. It only means something next to baselines on
#   the same targets and tokenizer: here the model's is below three quarters of the bigram's and below
#   0.4 of the unigram's.
# - Fix the seeds, the batch generator and the number of steps, and the whole run is reproducible.
# - The same model gives looping text with greedy decoding and varied text with sampling: decoding is
#   part of the behavior.
#
# Back to the questions: [what an LLM is](../fundamentals.md#what-is-an-llm) ·
# [core terminology](../fundamentals.md#core-terminology) · [perplexity](../evaluation.md#perplexity) ·
# [learning-rate schedules](../training.md#learning-rate-schedules) ·
# [the decoding loop](../decoding.md#autoregressive-decoding).

# %% [markdown] tags=["zh"]
# ## 小结 { #takeaways }
#
# - GPT 就是嵌入层、一组因果解码器块和一个输出到词表的线性层，用交叉熵训练它预测下一个 token；目标就是把文本错开一位。
# - 训练前先检查：初始损失应约为 $\ln |V|$，修改后面的 token 不能改变前面的 logit。
# - 验证集困惑度等于 $e^{\text{validation loss}}$。只有在相同的目标和分词器上与基线对比，它才有意义：
#   这里模型的困惑度不到二元模型的四分之三、一元模型的 0.4 倍。
# - 固定随机种子、批次生成器和训练步数，整个运行就可以复现。
# - 同一个模型，贪心解码得到循环的文本，采样得到多样的文本：解码策略也是模型行为的一部分。
#
# 回到问答页：[什么是大语言模型](../fundamentals.md#what-is-an-llm) ·
# [核心术语](../fundamentals.md#core-terminology) · [困惑度](../evaluation.md#perplexity) ·
# [学习率调度](../training.md#learning-rate-schedules) ·
# [自回归解码循环](../decoding.md#autoregressive-decoding)。
