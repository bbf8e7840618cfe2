# %% [markdown] tags=["en"]
# # Attention from scratch
#
# This notebook builds attention from plain tensor operations and checks each step against PyTorch.
# It illustrates the answers on the [attention mechanism](../fundamentals.md#attention-mechanism) and
# [multi-head attention](../fundamentals.md#multi-head-attention). Every check is an `assert`, so a wrong
# implementation fails the build.

# %% [markdown] tags=["zh"]
# # 从零实现注意力机制
#
# 本 notebook 只用基本的张量运算实现注意力机制（Attention）和多头注意力（Multi-Head Attention），并逐步与
# PyTorch 的结果对比校验，对应问答页中的[注意力机制](../fundamentals.md#attention-mechanism)和
# [多头注意力](../fundamentals.md#multi-head-attention)两题。
# 每项校验都是一条 `assert`，实现有误时构建会直接失败。

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from _figures import show
from torch import nn

torch.manual_seed(0)
DTYPE = torch.float64  # float64 keeps the comparisons tight


def max_err(a, b):
    return f"max abs error {(a - b).abs().max().item():.1e}"


# %% [markdown] tags=["en"]
# ## Scaled dot-product attention { #scaled-dot-product }
#
# For queries $Q \in \mathbb{R}^{n_q \times d_k}$, keys $K \in \mathbb{R}^{n_k \times d_k}$ and values
# $V \in \mathbb{R}^{n_k \times d_v}$:
#
# $$
# \operatorname{Attention}(Q,K,V) = \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V,
# \qquad
# \alpha_{ij} = \frac{\exp\!\big(q_i \cdot k_j/\sqrt{d_k}\big)}{\sum_{l}\exp\!\big(q_i \cdot k_l/\sqrt{d_k}\big)}
# $$
#
# The softmax runs over each row, so row $i$ of the weight matrix holds the weights $\alpha_{ij}$ that
# query $i$ gives to every key $j$. The function is the one on the question page: it returns the output
# and the weights. The `causal` option is explained in the causal mask section below.

# %% [markdown] tags=["zh"]
# ## 缩放点积注意力 { #scaled-dot-product }
#
# 设查询 $Q \in \mathbb{R}^{n_q \times d_k}$、键 $K \in \mathbb{R}^{n_k \times d_k}$、值
# $V \in \mathbb{R}^{n_k \times d_v}$，缩放点积注意力（Scaled Dot-Product Attention）为：
#
# $$
# \operatorname{Attention}(Q,K,V) = \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt{d_k}}\right)V,
# \qquad
# \alpha_{ij} = \frac{\exp\!\big(q_i \cdot k_j/\sqrt{d_k}\big)}{\sum_{l}\exp\!\big(q_i \cdot k_l/\sqrt{d_k}\big)}
# $$
#
# softmax 按行计算，权重矩阵的第 $i$ 行就是查询 $i$ 分给各个键 $j$ 的权重 $\alpha_{ij}$。下面的函数与问答页中的相同：
# 返回输出和权重。参数 `causal` 的作用见后面的「因果掩码」一节。

# %%
def attention(q, k, v, causal=False):
    """softmax(q k^T / sqrt(d_k)) v over the last two dims; returns (output, weights)."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    if causal:  # query i sits at absolute position n_k - n_q + i
        n_q, n_k = scores.shape[-2:]
        future = torch.ones(n_q, n_k, dtype=torch.bool).triu(n_k - n_q + 1)
        scores = scores.masked_fill(future, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


# %% [markdown] tags=["en"]
# We compare with `torch.nn.functional.scaled_dot_product_attention` (SDPA), first for self-attention
# shapes (batch, heads, positions, $d_k$), then for cross-attention shapes with $n_q \ne n_k$ and
# $d_v \ne d_k$.

# %% [markdown] tags=["zh"]
# 下面与 `torch.nn.functional.scaled_dot_product_attention`（SDPA）对比：先用自注意力的形状
# （batch、头、位置、$d_k$），再用交叉注意力的形状，其中 $n_q \ne n_k$、$d_v \ne d_k$。

# %%
B, H, T, D_K = 2, 4, 6, 16  # batch, heads, positions, head size
q, k, v = (torch.randn(B, H, T, D_K, dtype=DTYPE) for _ in range(3))

out, weights = attention(q, k, v)
ref = F.scaled_dot_product_attention(q, k, v)
torch.testing.assert_close(out, ref)
print("self-attention matches SDPA:", max_err(out, ref))

assert (weights >= 0).all()
torch.testing.assert_close(weights.sum(-1), torch.ones(B, H, T, dtype=DTYPE))
print("every row of weights is non-negative and sums to 1")

# cross-attention shapes: 3 queries, 7 keys, values of size 5
q_x = torch.randn(B, 3, D_K, dtype=DTYPE)
k_x, v_x = torch.randn(B, 7, D_K, dtype=DTYPE), torch.randn(B, 7, 5, dtype=DTYPE)
out_x, weights_x = attention(q_x, k_x, v_x)
ref_x = F.scaled_dot_product_attention(q_x, k_x, v_x)
assert out_x.shape == (B, 3, 5) and weights_x.shape == (B, 3, 7)
torch.testing.assert_close(out_x, ref_x)
print("cross-attention shapes match SDPA:", max_err(out_x, ref_x))

# %% [markdown] tags=["en"]
# ## Why the scaling matters { #why-scaling }
#
# If the components of $q$ and $k$ are independent with mean 0 and variance 1, then $q \cdot k$ has
# variance $d_k$. Without the factor $1/\sqrt{d_k}$ the logits grow with the head size and the softmax
# saturates: almost all weight goes to one key, and the softmax Jacobian
# $\partial\alpha_j/\partial s_l = \alpha_j(\delta_{jl} - \alpha_l)$ goes to zero, so little gradient
# flows back.
#
# Below, 2000 random queries attend over 32 random keys. For each $d_k$ we measure the standard
# deviation of the logits, the mean largest weight $\max_j \alpha_{ij}$, the mean entropy
# $H_i = -\sum_j \alpha_{ij}\log\alpha_{ij}$ of a row, and the mean Frobenius norm of the Jacobian.
# A uniform row over 32 keys has entropy $\log 32 \approx 3.47$; a one-hot row has entropy 0.

# %% [markdown] tags=["zh"]
# ## 为什么要缩放 { #why-scaling }
#
# 若 $q$ 和 $k$ 的各分量独立、均值为 0、方差为 1，则 $q \cdot k$ 的方差为 $d_k$。不乘 $1/\sqrt{d_k}$ 时，
# logit 随头维度增大而变大，softmax 进入饱和区：几乎全部权重落在一个键上，softmax 的雅可比矩阵（Jacobian）
# $\partial\alpha_j/\partial s_l = \alpha_j(\delta_{jl} - \alpha_l)$ 趋于零，能回传的梯度很少。
#
# 下面让 2000 个随机查询对 32 个随机键做注意力。对每个 $d_k$，我们测量 logit 的标准差、平均最大权重
# $\max_j \alpha_{ij}$、每行的平均熵（Entropy）$H_i = -\sum_j \alpha_{ij}\log\alpha_{ij}$，以及雅可比矩阵的平均
# Frobenius 范数。32 个键上的均匀分布熵为 $\log 32 \approx 3.47$，one-hot 分布的熵为 0。

# %%
N_QUERIES, N_KEYS = 2000, 32
D_KS = [4, 16, 64, 256, 1024]


def softmax_stats(logits):
    """Logit std, mean max weight, mean row entropy (nats), mean Jacobian norm."""
    w = torch.softmax(logits, dim=-1)
    entropy = -torch.special.xlogy(w, w).sum(-1)  # xlogy(0, 0) = 0
    jacobian = torch.diag_embed(w) - w.unsqueeze(-1) * w.unsqueeze(-2)
    return {
        "std": logits.std().item(),
        "max_w": w.max(-1).values.mean().item(),
        "entropy": entropy.mean().item(),
        "jac": jacobian.norm(dim=(-2, -1)).mean().item(),
    }


unscaled, scaled = [], []
for d_k in D_KS:
    q_s = torch.randn(N_QUERIES, d_k, dtype=DTYPE)
    k_s = torch.randn(N_KEYS, d_k, dtype=DTYPE)
    logits = q_s @ k_s.T
    unscaled.append(softmax_stats(logits))
    scaled.append(softmax_stats(logits / math.sqrt(d_k)))

cols = ("std", "max_w", "entropy", "jac")
print(f"{'':>5} | {'unscaled QK^T':^27} | {'scaled QK^T/sqrt(d_k)':^27}")
print(f"{'d_k':>5} | " + " ".join(f"{c:>6}" for c in cols) + " | " + " ".join(f"{c:>6}" for c in cols))
for d_k, u, s in zip(D_KS, unscaled, scaled):
    print(f"{d_k:>5} | " + " ".join(f"{u[c]:6.3f}" for c in cols) + " | " + " ".join(f"{s[c]:6.3f}" for c in cols))

# %%
# unscaled: the logit std grows like sqrt(d_k), the softmax collapses toward one-hot
for d_k, u in zip(D_KS, unscaled):
    assert 0.8 < u["std"] / math.sqrt(d_k) < 1.2, (d_k, u["std"])
entropies = [u["entropy"] for u in unscaled]
assert all(a > b for a, b in zip(entropies, entropies[1:])), entropies
assert unscaled[-1]["max_w"] > 0.9 and unscaled[-1]["jac"] < 0.5 * scaled[-1]["jac"]
print(f"unscaled, d_k={D_KS[-1]}: mean max weight {unscaled[-1]['max_w']:.3f}, "
      f"Jacobian norm {unscaled[-1]['jac']:.3f} (scaled: {scaled[-1]['jac']:.3f})")

# scaled: logit std stays near 1 and the weights keep the same spread for every d_k
for s in scaled:
    assert 0.8 < s["std"] < 1.2, s["std"]
scaled_h = [s["entropy"] for s in scaled]
assert max(scaled_h) - min(scaled_h) < 0.2, scaled_h
print(f"scaled: entropy stays in [{min(scaled_h):.2f}, {max(scaled_h):.2f}] nats for d_k in {D_KS}")

# %%
SATURATION_LABELS = {
    "en": {"entropy": r"mean $H_i$ (nats)", "max": r"mean $\mathrm{max}_j\,\alpha_{ij}$"},
    "zh": {"entropy": r"平均熵 $H_i$（nats）", "max": r"平均最大权重 $\mathrm{max}_j\,\alpha_{ij}$"},
}


def draw_saturation(lang):
    fig, (ax_h, ax_w) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    for stats, label, style in ((scaled, r"$QK^\top/\sqrt{d_k}$", "o-"), (unscaled, r"$QK^\top$", "s--")):
        ax_h.plot(D_KS, [s["entropy"] for s in stats], style, label=label)
        ax_w.plot(D_KS, [s["max_w"] for s in stats], style, label=label)
    ax_h.axhline(math.log(N_KEYS), color="gray", linestyle=":", label=r"$\log 32$")
    ax_h.set(xscale="log", xlabel="$d_k$", ylabel=SATURATION_LABELS[lang]["entropy"], ylim=(0, 3.8))
    ax_w.set(xscale="log", xlabel="$d_k$", ylabel=SATURATION_LABELS[lang]["max"], ylim=(0, 1.05))
    for ax in (ax_h, ax_w):
        ax.set_xticks(D_KS, [str(d) for d in D_KS])
        ax.minorticks_off()
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


show(draw_saturation)

# %% [markdown] tags=["en"]
# With the scaling, the spread of the weights does not depend on $d_k$. Without it, at $d_k = 1024$ a
# query puts on average 95% of its weight on one key, and the Jacobian is about four times smaller than with
# the scaling.

# %% [markdown] tags=["zh"]
# 有了缩放，权重的分散程度与 $d_k$ 无关。没有缩放时，$d_k = 1024$ 下每个查询约 95% 的权重落在一个键上，
# 雅可比矩阵的范数只有缩放时的四分之一左右。

# %% [markdown] tags=["en"]
# ## Causal mask { #causal-mask }
#
# A decoder predicts the token after position $i$ from positions $0, \dots, i$ only, so query $i$ must
# not see keys $j > i$. The mask adds $-\infty$ to those scores before the softmax, which makes their
# weights exactly zero:
#
# $$
# \alpha_{ij} = 0 \quad \text{for } j > i .
# $$
#
# `scaled_dot_product_attention(..., is_causal=True)` applies the same mask. We also check the property
# the mask exists for: changing future keys and values does not change earlier outputs.

# %% [markdown] tags=["zh"]
# ## 因果掩码 { #causal-mask }
#
# 解码器只能根据位置 $0, \dots, i$ 预测位置 $i$ 之后的 token，因此查询 $i$ 不能看到 $j > i$ 的键。
# 因果掩码（Causal Mask）在 softmax 之前给这些分数加上 $-\infty$，使它们的权重恰好为零：
#
# $$
# \alpha_{ij} = 0 \quad \text{for } j > i .
# $$
#
# `scaled_dot_product_attention(..., is_causal=True)` 使用同样的掩码。我们还检验掩码要保证的性质：
# 修改未来位置的键和值，不会改变前面位置的输出。

# %%
out_c, weights_c = attention(q, k, v, causal=True)
ref_c = F.scaled_dot_product_attention(q, k, v, is_causal=True)
torch.testing.assert_close(out_c, ref_c)
print("causal attention matches SDPA(is_causal=True):", max_err(out_c, ref_c))

future = torch.ones(T, T, dtype=torch.bool).triu(1)
assert (weights_c[..., future] == 0).all()
torch.testing.assert_close(weights_c.sum(-1), torch.ones(B, H, T, dtype=DTYPE))
assert (weights_c[..., 0, 0] == 1).all()
print("weights above the diagonal are exactly 0; rows sum to 1; query 0 attends only to itself")

# change keys and values at positions 4 and 5: outputs at positions 0..3 must not move
k2, v2 = k.clone(), v.clone()
k2[..., 4:, :] = torch.randn_like(k2[..., 4:, :])
v2[..., 4:, :] = torch.randn_like(v2[..., 4:, :])
out_c2, _ = attention(q, k2, v2, causal=True)
torch.testing.assert_close(out_c2[..., :4, :], out_c[..., :4, :], rtol=0, atol=0)
assert not torch.allclose(out_c2[..., 4:, :], out_c[..., 4:, :])
print("changing future keys/values leaves earlier outputs bit-identical")

# %% [markdown] tags=["en"]
# **Decoding with a KV cache.** During generation only the newest queries are computed, while the keys
# and values cover the whole prefix, so $n_q < n_k$. The function then places query $i$ at absolute
# position $n_k - n_q + i$: the mask is aligned to the bottom right, and the result must equal the last
# rows of the full causal computation. SDPA's `is_causal=True` aligns the mask to the top left when
# $n_q \ne n_k$, so for this step pass an explicit mask (for SDPA's boolean `attn_mask`, `True` means
# "may attend").

# %% [markdown] tags=["zh"]
# **使用 KV 缓存解码。** 生成时只计算最新 token 的查询，而键和值覆盖整个前缀，因此 $n_q < n_k$。
# 这时函数把查询 $i$ 放在绝对位置 $n_k - n_q + i$，即掩码按右下角对齐，结果应等于完整因果计算的最后几行。
# 当 $n_q \ne n_k$ 时，SDPA 的 `is_causal=True` 按左上角对齐掩码，所以这一步要显式传入掩码
# （SDPA 的布尔型 `attn_mask` 中 `True` 表示「可以关注」）。

# %%
n_new = 2  # the two newest queries against all T cached keys
out_last, _ = attention(q[..., -n_new:, :], k, v, causal=True)
torch.testing.assert_close(out_last, out_c[..., -n_new:, :])
print("cached decoding matches the last rows of full causal attention:", max_err(out_last, out_c[..., -n_new:, :]))

allowed = torch.ones(n_new, T, dtype=torch.bool).tril(T - n_new)  # bottom-right aligned
ref_last = F.scaled_dot_product_attention(q[..., -n_new:, :], k, v, attn_mask=allowed)
torch.testing.assert_close(out_last, ref_last)
print("and SDPA with an explicit bottom-right mask:", max_err(out_last, ref_last))

top_left = F.scaled_dot_product_attention(q[..., -n_new:, :], k, v, is_causal=True)
assert not torch.allclose(top_left, out_last)
print("SDPA(is_causal=True) with n_q < n_k differs (top-left alignment)")

# %% [markdown] tags=["en"]
# ## Causal attention weights { #causal-heatmap }
#
# The heatmap shows the weights of one head for a sequence of 10 random tokens. Row $i$ is the
# distribution of query $i$ over the keys. The upper triangle is zero because the future is masked, and
# query 0 can only attend to itself, so its weight is 1.

# %% [markdown] tags=["zh"]
# ## 因果注意力权重 { #causal-heatmap }
#
# 热力图展示了一个头在 10 个随机 token 上的注意力权重。第 $i$ 行是查询 $i$ 在各个键上的分布。
# 由于未来位置被屏蔽，上三角全为零；查询 0 只能关注自己，所以它的权重为 1。

# %%
T_PLOT = 10
q_p, k_p, v_p = (torch.randn(T_PLOT, D_K, dtype=DTYPE) for _ in range(3))
_, w_plot = attention(q_p, k_p, v_p, causal=True)
assert (w_plot.triu(1) == 0).all() and w_plot[0, 0] == 1

HEATMAP_LABELS = {
    "en": ("key position $j$", "query position $i$"),
    "zh": ("键的位置 $j$", "查询的位置 $i$"),
}


def draw_causal_heatmap(lang):
    fig, ax = plt.subplots(figsize=(5, 4.2), layout="constrained")
    im = ax.imshow(w_plot.numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.set_xlabel(HEATMAP_LABELS[lang][0])
    ax.set_ylabel(HEATMAP_LABELS[lang][1])
    ax.set_xticks(range(T_PLOT))
    ax.set_yticks(range(T_PLOT))
    fig.colorbar(im, ax=ax, label=r"$\alpha_{ij}$")
    return fig


show(draw_causal_heatmap)

# %% [markdown] tags=["en"]
# ## Multi-head attention { #multi-head }
#
# With $h$ heads and $d_k = d_v = d_{\text{model}}/h$, each head attends in its own subspace:
#
# $$
# \operatorname{head}_i = \operatorname{Attention}\big(XW_i^Q,\; XW_i^K,\; XW_i^V\big),\qquad
# \operatorname{MultiHead}(X) = \operatorname{Concat}(\operatorname{head}_1,\dots,\operatorname{head}_h)\,W^O
# $$
#
# $W_i^Q$ is the $i$-th block of $d_k$ columns of one $d_{\text{model}} \times d_{\text{model}}$ matrix
# $W^Q$, so all heads come from one matrix product and a reshape. The implementation has four steps:
# project, split into heads, attend (all heads at once), then concatenate and apply the output projection.
# It includes biases because `torch.nn.MultiheadAttention` has them.

# %% [markdown] tags=["zh"]
# ## 多头注意力 { #multi-head }
#
# 设有 $h$ 个头，$d_k = d_v = d_{\text{model}}/h$，每个头在自己的子空间里做注意力：
#
# $$
# \operatorname{head}_i = \operatorname{Attention}\big(XW_i^Q,\; XW_i^K,\; XW_i^V\big),\qquad
# \operatorname{MultiHead}(X) = \operatorname{Concat}(\operatorname{head}_1,\dots,\operatorname{head}_h)\,W^O
# $$
#
# $W_i^Q$ 就是一个 $d_{\text{model}} \times d_{\text{model}}$ 矩阵 $W^Q$ 中第 $i$ 块的 $d_k$ 列，
# 因此所有头只需一次矩阵乘法加一次 reshape。实现分四步：投影、拆分成多个头、做注意力（所有头同时计算）、
# 拼接后再做输出投影。由于 `torch.nn.MultiheadAttention` 带偏置，这里也加上偏置。

# %%
def split_heads(t, n_heads):
    """(B, T, d_model) -> (B, h, T, d_k)"""
    b, t_len, d_model = t.shape
    return t.view(b, t_len, n_heads, d_model // n_heads).transpose(1, 2)


def merge_heads(t):
    """(B, h, T, d_k) -> (B, T, h * d_k): concatenate the heads"""
    b, h, t_len, d_k = t.shape
    return t.transpose(1, 2).reshape(b, t_len, h * d_k)


def multi_head_attention(x, p, n_heads, causal=False):
    """x: (B, T, d_model); p: W_q, W_k, W_v, W_o of shape (d_model, d_model) and biases b_*."""
    q = split_heads(x @ p["W_q"] + p["b_q"], n_heads)
    k = split_heads(x @ p["W_k"] + p["b_k"], n_heads)
    v = split_heads(x @ p["W_v"] + p["b_v"], n_heads)
    heads, weights = attention(q, k, v, causal)  # (B, h, T, d_k), all heads at once
    return merge_heads(heads) @ p["W_o"] + p["b_o"], weights


D_MODEL, N_HEADS, T_MHA = 32, 4, 7
D_HEAD = D_MODEL // N_HEADS
x = torch.randn(B, T_MHA, D_MODEL, dtype=DTYPE)
p = {f"W_{n}": torch.randn(D_MODEL, D_MODEL, dtype=DTYPE) / math.sqrt(D_MODEL) for n in "qkvo"}
p |= {f"b_{n}": 0.1 * torch.randn(D_MODEL, dtype=DTYPE) for n in "qkvo"}

# %% [markdown] tags=["en"]
# **Check 1: SDPA applied head by head.** Each head uses its own column slice of $W^Q$, $W^K$, $W^V$;
# the head outputs are concatenated and multiplied by $W^O$.

# %% [markdown] tags=["zh"]
# **校验一：逐个头调用 SDPA。** 每个头使用 $W^Q$、$W^K$、$W^V$ 中属于自己的那几列，各头输出拼接后乘以 $W^O$。

# %%
for causal in (False, True):
    out_mha, _ = multi_head_attention(x, p, N_HEADS, causal=causal)
    per_head = []
    for i in range(N_HEADS):
        head_cols = slice(i * D_HEAD, (i + 1) * D_HEAD)  # W_i = columns of head i
        q_i, k_i, v_i = (x @ p[f"W_{n}"][:, head_cols] + p[f"b_{n}"][head_cols] for n in "qkv")
        per_head.append(F.scaled_dot_product_attention(q_i, k_i, v_i, is_causal=causal))
    ref_mha = torch.cat(per_head, dim=-1) @ p["W_o"] + p["b_o"]
    torch.testing.assert_close(out_mha, ref_mha)
    print(f"multi-head (causal={causal}) matches per-head SDPA:", max_err(out_mha, ref_mha))

# %% [markdown] tags=["en"]
# **Check 2: `torch.nn.MultiheadAttention` with our weights copied in.** Two conventions differ from the
# formulas. `nn.Linear` computes $xW^\top$, so the stacked $[W^Q\; W^K\; W^V]$ and $W^O$ go in
# transposed. And its boolean `attn_mask` marks the positions that may **not** be attended, the opposite
# of SDPA's boolean mask.

# %% [markdown] tags=["zh"]
# **校验二：把同样的权重复制进 `torch.nn.MultiheadAttention`。** 它有两处约定与公式不同：`nn.Linear` 计算的是
# $xW^\top$，所以拼起来的 $[W^Q\; W^K\; W^V]$ 和 $W^O$ 都要转置后再放进去；它的布尔型 `attn_mask` 标记的是
# **不能**关注的位置，与 SDPA 的布尔掩码正好相反。

# %%
mha = nn.MultiheadAttention(D_MODEL, N_HEADS, batch_first=True, dtype=DTYPE).eval()
with torch.no_grad():
    mha.in_proj_weight.copy_(torch.cat([p["W_q"], p["W_k"], p["W_v"]], dim=1).T)
    mha.in_proj_bias.copy_(torch.cat([p["b_q"], p["b_k"], p["b_v"]]))
    mha.out_proj.weight.copy_(p["W_o"].T)
    mha.out_proj.bias.copy_(p["b_o"])

    for causal in (False, True):
        out_mha, w_mha = multi_head_attention(x, p, N_HEADS, causal=causal)
        mask = torch.ones(T_MHA, T_MHA, dtype=torch.bool).triu(1) if causal else None  # True = blocked
        ref_mha, ref_w = mha(x, x, x, attn_mask=mask, need_weights=True, average_attn_weights=False)
        torch.testing.assert_close(out_mha, ref_mha)
        torch.testing.assert_close(w_mha, ref_w)
        print(f"multi-head (causal={causal}) matches nn.MultiheadAttention:", max_err(out_mha, ref_mha),
              "| per-head weights:", max_err(w_mha, ref_w))

# %% [markdown] tags=["en"]
# **Check 3: more heads, same parameters.** The projections hold $4d_{\text{model}}^2$ weights plus
# $4d_{\text{model}}$ biases for any $h$; only the head size $d_k = d_{\text{model}}/h$ changes.

# %% [markdown] tags=["zh"]
# **校验三：头数变化，参数量不变。** 无论 $h$ 取多少，投影矩阵都是 $4d_{\text{model}}^2$ 个权重加
# $4d_{\text{model}}$ 个偏置，变化的只有每个头的维度 $d_k = d_{\text{model}}/h$。

# %%
for h in (1, 2, 4, 8, 16):
    n_params = sum(t.numel() for t in nn.MultiheadAttention(D_MODEL, h).parameters())
    assert n_params == 4 * D_MODEL**2 + 4 * D_MODEL, (h, n_params)
print(f"d_model={D_MODEL}: {4 * D_MODEL**2 + 4 * D_MODEL} parameters for h in (1, 2, 4, 8, 16)")

# %% [markdown] tags=["en"]
# ## Takeaways { #takeaways }
#
# - Attention is two matrix products and a row-wise softmax; the weights of each query form a probability
#   distribution over the keys.
# - The $1/\sqrt{d_k}$ factor keeps the logits at unit scale, so the softmax does not saturate as heads
#   grow.
# - A causal mask is $-\infty$ above the diagonal before the softmax; with a KV cache it must be aligned
#   to the bottom right.
# - Multi-head attention is a reshape around the same function: column blocks of $W^Q$, $W^K$, $W^V$ are
#   the heads, and the parameter count does not depend on $h$.
#
# Back to the questions: [attention mechanism](../fundamentals.md#attention-mechanism) ·
# [multi-head attention](../fundamentals.md#multi-head-attention).

# %% [markdown] tags=["zh"]
# ## 小结 { #takeaways }
#
# - 注意力就是两次矩阵乘法加一次按行的 softmax；每个查询的权重构成键上的一个概率分布。
# - 因子 $1/\sqrt{d_k}$ 让 logit 保持单位尺度，头维度增大时 softmax 也不会饱和。
# - 因果掩码是在 softmax 之前给对角线以上加 $-\infty$；配合 KV 缓存时，掩码要按右下角对齐。
# - 多头注意力只是在同一个函数外面做 reshape：$W^Q$、$W^K$、$W^V$ 的列块就是各个头，参数量与 $h$ 无关。
#
# 回到问答页：[注意力机制](../fundamentals.md#attention-mechanism) ·
# [多头注意力](../fundamentals.md#multi-head-attention)。
