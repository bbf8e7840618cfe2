# %% [markdown] tags=["en"]
# # Transformer block
#
# This notebook builds one decoder-only Transformer block from scratch: layer normalization, residual
# connections, the position-wise feed-forward network (FFN) and causal self-attention, assembled in the
# pre-LN and the post-LN arrangement. Each piece is checked against PyTorch, the whole block against
# `torch.nn.TransformerEncoderLayer` with the same weights, and the parameter count against a formula. A
# last experiment measures how post-LN and pre-LN stacks pass gradients at initialization. It illustrates
# the answers on [the Transformer architecture](../fundamentals.md#transformer-architecture),
# [layer normalization and residual connections](../fundamentals.md#layernorm-residual) and
# [attention](../fundamentals.md#attention-mechanism), and it is a worked answer to "implement a simple
# Transformer block". Every check is an `assert`, so a wrong implementation fails the build.

# %% [markdown] tags=["zh"]
# # Transformer 块
#
# 本 notebook 从零搭建一个 decoder-only 的 Transformer 块：层归一化（Layer Normalization）、残差连接
# （Residual Connection）、逐位置前馈网络（Feed-Forward Network，FFN）和因果自注意力（Causal Self-Attention），
# 并分别按 pre-LN 和 post-LN 两种方式组装。每个部件都与 PyTorch 对比，整个块与权重相同的
# `torch.nn.TransformerEncoderLayer` 对比，参数量与公式对比。最后一个实验测量 post-LN 和 pre-LN 堆叠在初始化时
# 如何传递梯度。对应问答页中的 [Transformer 架构](../fundamentals.md#transformer-architecture)、
# [层归一化与残差连接](../fundamentals.md#layernorm-residual)和[注意力机制](../fundamentals.md#attention-mechanism)，
# 也是编程题「实现一个简单的 Transformer 块」的参考答案。每项校验都是一条 `assert`，实现有误时构建会直接失败。

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from _figures import show
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)  # small tensors: a second thread only adds overhead
DTYPE = torch.float64  # float64 keeps the comparisons tight


def max_err(a, b):
    return f"max abs error {(a - b).abs().max().item():.1e}"


# %% [markdown] tags=["en"]
# ## Layer normalization { #layernorm }
#
# LayerNorm normalizes each token's vector $x \in \mathbb{R}^d$ over its features, then applies a learned
# gain $\gamma$ and bias $\beta$:
#
# $$
# \operatorname{LN}(x)=\gamma\odot\frac{x-\mu}{\sqrt{\sigma^2+\epsilon}}+\beta,\qquad
# \mu=\frac{1}{d}\sum_i x_i,\quad \sigma^2=\frac{1}{d}\sum_i (x_i-\mu)^2 .
# $$
#
# The variance divides by $d$, not $d-1$. RMSNorm, used by LLaMA, skips the mean and $\beta$:
# $x/\sqrt{\tfrac{1}{d}\sum_i x_i^2+\epsilon}\odot\gamma$. We check both against `nn.LayerNorm` and
# `nn.RMSNorm` with random $\gamma$ and $\beta$.

# %% [markdown] tags=["zh"]
# ## 层归一化 { #layernorm }
#
# LayerNorm 对每个 token 的向量 $x \in \mathbb{R}^d$ 在特征维度上做归一化，再乘以可学习的增益 $\gamma$、加上偏置 $\beta$：
#
# $$
# \operatorname{LN}(x)=\gamma\odot\frac{x-\mu}{\sqrt{\sigma^2+\epsilon}}+\beta,\qquad
# \mu=\frac{1}{d}\sum_i x_i,\quad \sigma^2=\frac{1}{d}\sum_i (x_i-\mu)^2 .
# $$
#
# 方差除以 $d$，而不是 $d-1$。LLaMA 使用的 RMSNorm 省去了均值和 $\beta$：
# $x/\sqrt{\tfrac{1}{d}\sum_i x_i^2+\epsilon}\odot\gamma$。下面用随机的 $\gamma$ 和 $\beta$，把两者分别与
# `nn.LayerNorm` 和 `nn.RMSNorm` 对比。

# %%
class LayerNorm(nn.Module):
    """LayerNorm over the last dimension, with gain `weight` and bias `bias` (names as in nn.LayerNorm)."""

    def __init__(self, d_model, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d_model))
        self.bias = nn.Parameter(torch.zeros(d_model))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)  # biased: divide by d
        return self.weight * (x - mu) / torch.sqrt(var + self.eps) + self.bias


def rms_norm(x, weight, eps=1e-6):
    """RMSNorm: no mean subtraction, no bias."""
    return weight * x / torch.sqrt((x**2).mean(-1, keepdim=True) + eps)


B, T, D = 3, 5, 16  # batch, positions, d_model
x = 3 * torch.randn(B, T, D, dtype=DTYPE) + 2

ln_ours = LayerNorm(D).to(DTYPE)
ln_ref = nn.LayerNorm(D, dtype=DTYPE)
with torch.no_grad():
    for p_ours, p_ref in ((ln_ours.weight, ln_ref.weight), (ln_ours.bias, ln_ref.bias)):
        p_ours.copy_(torch.randn(D))
        p_ref.copy_(p_ours)
    torch.testing.assert_close(ln_ours(x), ln_ref(x))
    print("LayerNorm matches nn.LayerNorm:", max_err(ln_ours(x), ln_ref(x)))

    rms_ref = nn.RMSNorm(D, eps=1e-6, dtype=DTYPE)
    rms_ref.weight.copy_(torch.randn(D))
    torch.testing.assert_close(rms_norm(x, rms_ref.weight), rms_ref(x))
    print("RMSNorm matches nn.RMSNorm:", max_err(rms_norm(x, rms_ref.weight), rms_ref(x)))

    # with gamma = 1, beta = 0 every token has mean 0 and (biased) variance close to 1
    z = LayerNorm(D).to(DTYPE)(x)
    torch.testing.assert_close(z.mean(-1), torch.zeros(B, T, dtype=DTYPE))
    torch.testing.assert_close(z.var(-1, unbiased=False), torch.ones(B, T, dtype=DTYPE), rtol=0, atol=1e-4)

    # a common slip: torch.var is unbiased by default (divides by d - 1); the same check catches it
    unbiased = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, keepdim=True) + 1e-5)
    assert not torch.allclose(unbiased, nn.LayerNorm(D, dtype=DTYPE)(x))
    print("with the unbiased variance instead:", max_err(unbiased, nn.LayerNorm(D, dtype=DTYPE)(x)))

# %% [markdown] tags=["en"]
# ## Residual connections { #residual }
#
# A residual connection wraps a sublayer $F$ as $x_{l+1} = x_l + F(x_l)$, so
#
# $$
# \frac{\partial x_{l+1}}{\partial x_l}=I+\frac{\partial F(x_l)}{\partial x_l},
# \qquad
# \frac{\partial \mathcal{L}}{\partial x_l}=\frac{\partial \mathcal{L}}{\partial x_{l+1}}\left(I+\frac{\partial F}{\partial x_l}\right).
# $$
#
# Without the identity term, the gradient reaching layer $l$ is a product of $L-l$ Jacobians and shrinks
# (or grows) geometrically with depth. The experiment stacks 24 FFN sublayers with PyTorch's default
# initialization, with and without the residual, and measures the gradient norm at every depth relative
# to the norm at the output. First, the Jacobian identity itself, computed by autograd.

# %% [markdown] tags=["zh"]
# ## 残差连接 { #residual }
#
# 残差连接把子层 $F$ 包装成 $x_{l+1} = x_l + F(x_l)$，因此
#
# $$
# \frac{\partial x_{l+1}}{\partial x_l}=I+\frac{\partial F(x_l)}{\partial x_l},
# \qquad
# \frac{\partial \mathcal{L}}{\partial x_l}=\frac{\partial \mathcal{L}}{\partial x_{l+1}}\left(I+\frac{\partial F}{\partial x_l}\right).
# $$
#
# 没有恒等项时，传到第 $l$ 层的梯度是 $L-l$ 个雅可比矩阵（Jacobian）的乘积，会随深度按几何级数缩小（或放大）。
# 下面的实验用 PyTorch 的默认初始化堆叠 24 个 FFN 子层，分别带残差和不带残差，测量每一层的梯度范数相对于输出处梯度范数的比值。
# 先用 autograd 验证上面的雅可比恒等式。

# %%
def feed_forward_sublayer(d_model):
    """A two-layer GELU MLP with hidden size 4 * d_model, PyTorch's default initialization."""
    return nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))


ffn_demo = feed_forward_sublayer(D).to(DTYPE)
x_tok = torch.randn(D, dtype=DTYPE)
jac_block = torch.autograd.functional.jacobian(lambda v: v + ffn_demo(v), x_tok)
jac_ffn = torch.autograd.functional.jacobian(ffn_demo, x_tok)
torch.testing.assert_close(jac_block, torch.eye(D, dtype=DTYPE) + jac_ffn)
print("Jacobian of x + F(x) equals I + dF/dx:", max_err(jac_block, torch.eye(D, dtype=DTYPE) + jac_ffn))


def input_gradient_profile(residual, n_layers=24, d_model=64, n_tokens=64):
    """||dL/dx_l|| / ||dL/dx_L|| for l = 0..L through a stack of FFN sublayers, for a random linear loss."""
    torch.manual_seed(0)
    layers = [feed_forward_sublayer(d_model) for _ in range(n_layers)]
    x = torch.randn(n_tokens, d_model)
    states = []
    for layer in layers:
        x = x.detach().requires_grad_() if not states else x
        x.retain_grad()
        states.append(x)
        x = x + layer(x) if residual else layer(x)
    x.retain_grad()
    states.append(x)
    (x * torch.randn_like(x)).sum().backward()
    norms = torch.tensor([s.grad.norm().item() for s in states])
    return norms / norms[-1]


grad_residual = input_gradient_profile(residual=True)
grad_plain = input_gradient_profile(residual=False)
print(f"gradient at the input / at the output: residual {grad_residual[0]:.2f}, plain {grad_plain[0]:.1e}")
assert grad_residual.min() > 0.5  # never vanishes: the identity path carries the output gradient down
assert grad_plain[0] < 1e-6  # 24 multiplied Jacobians: the gradient has vanished
assert (grad_plain[1:] > grad_plain[:-1]).all()  # and it shrinks at every layer on the way down

# %%
RESIDUAL_LABELS = {
    "en": {"x": "depth $l$ (0 = input)", "y": r"$\|\partial\mathcal{L}/\partial x_l\| \,/\, \|\partial\mathcal{L}/\partial x_L\|$",
           "res": r"residual: $x + F(x)$", "plain": r"plain: $F(x)$"},
    "zh": {"x": "深度 $l$（0 为输入）", "y": r"$\|\partial\mathcal{L}/\partial x_l\| \,/\, \|\partial\mathcal{L}/\partial x_L\|$",
           "res": r"残差：$x + F(x)$", "plain": r"无残差：$F(x)$"},
}


def draw_residual(lang):
    labels = RESIDUAL_LABELS[lang]
    fig, ax = plt.subplots(figsize=(6, 3.4), layout="constrained")
    ax.semilogy(grad_residual.numpy(), "o-", markersize=3, label=labels["res"])
    ax.semilogy(grad_plain.numpy(), "s--", markersize=3, label=labels["plain"])
    ax.set(xlabel=labels["x"], ylabel=labels["y"])
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


show(draw_residual)

# %% [markdown] tags=["en"]
# With PyTorch's default initialization each plain sublayer shrinks the gradient by a roughly constant
# factor, so after 24 layers almost nothing reaches the input. With the residual, the gradient at the
# input is even a bit larger than at the output: each layer adds $\partial F/\partial x_l$ on top of the
# identity. Normalization then keeps the residual stream in a stable range; the last section shows how
# its position matters.

# %% [markdown] tags=["zh"]
# 在 PyTorch 的默认初始化下，每个无残差的子层都把梯度缩小一个大致固定的倍数，经过 24 层后几乎没有梯度能传到输入。
# 有残差时，输入处的梯度甚至比输出处略大：每一层都在恒等项之上再加一项 $\partial F/\partial x_l$。
# 归一化则让残差流（Residual Stream）保持在稳定的数值范围内；最后一节会看到归一化放在哪里很重要。

# %% [markdown] tags=["en"]
# ## Position-wise feed-forward network { #ffn }
#
# The FFN is the same two-layer MLP applied to every position separately:
#
# $$
# \operatorname{FFN}(x) = \operatorname{GELU}(xW_1 + b_1)\,W_2 + b_2,\qquad
# \operatorname{GELU}(u) = u\,\Phi(u) = \frac{u}{2}\left(1+\operatorname{erf}\frac{u}{\sqrt{2}}\right),
# $$
#
# with $W_1 \in \mathbb{R}^{d\times d_{ff}}$, $W_2 \in \mathbb{R}^{d_{ff}\times d}$ and usually
# $d_{ff} = 4d$. The original Transformer used ReLU; GPT-2 uses GELU in its tanh approximation
# $\tfrac{u}{2}\big(1+\tanh\big(\sqrt{2/\pi}\,(u+0.044715\,u^3)\big)\big)$. LLaMA uses SwiGLU
# (*GLU Variants Improve Transformer*, Shazeer, 2020), a gated FFN with three matrices and no biases:
#
# $$
# \operatorname{FFN}_{\text{SwiGLU}}(x) = \big(\operatorname{SiLU}(xW) \odot xV\big)\,W_2,\qquad \operatorname{SiLU}(u) = u\,\sigma(u).
# $$
#
# To keep the parameter count of a $4d$ FFN ($8d^2$), the hidden size shrinks to $d_{ff} = \tfrac{2}{3}\cdot 4d$.

# %% [markdown] tags=["zh"]
# ## 逐位置前馈网络 { #ffn }
#
# FFN 是对每个位置分别应用的同一个两层 MLP：
#
# $$
# \operatorname{FFN}(x) = \operatorname{GELU}(xW_1 + b_1)\,W_2 + b_2,\qquad
# \operatorname{GELU}(u) = u\,\Phi(u) = \frac{u}{2}\left(1+\operatorname{erf}\frac{u}{\sqrt{2}}\right),
# $$
#
# 其中 $W_1 \in \mathbb{R}^{d\times d_{ff}}$，$W_2 \in \mathbb{R}^{d_{ff}\times d}$，通常 $d_{ff} = 4d$。
# 原始 Transformer 用 ReLU；GPT-2 用 GELU 的 tanh 近似
# $\tfrac{u}{2}\big(1+\tanh\big(\sqrt{2/\pi}\,(u+0.044715\,u^3)\big)\big)$。LLaMA 用 SwiGLU
# （*GLU Variants Improve Transformer*，Shazeer，2020），这是一种带门控的 FFN，有三个矩阵、没有偏置：
#
# $$
# \operatorname{FFN}_{\text{SwiGLU}}(x) = \big(\operatorname{SiLU}(xW) \odot xV\big)\,W_2,\qquad \operatorname{SiLU}(u) = u\,\sigma(u).
# $$
#
# 为了与 $4d$ 的 FFN 参数量（$8d^2$）持平，隐藏层维度缩小为 $d_{ff} = \tfrac{2}{3}\cdot 4d$。

# %%
def gelu(u):
    """Exact GELU: u * Phi(u), Phi the standard normal CDF."""
    return 0.5 * u * (1 + torch.erf(u / math.sqrt(2)))


def gelu_tanh(u):
    """The tanh approximation used by GPT-2."""
    return 0.5 * u * (1 + torch.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u**3)))


class FeedForward(nn.Module):
    """Position-wise FFN: Linear(d, d_ff) -> GELU -> Linear(d_ff, d)."""

    def __init__(self, d_model, d_ff):
        super().__init__()
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)

    def forward(self, x):
        return self.fc2(gelu(self.fc1(x)))


class SwiGLU(nn.Module):
    """Gated FFN of LLaMA: (SiLU(x W) * (x V)) W_2, no biases."""

    def __init__(self, d_model, d_ff):
        super().__init__()
        self.w = nn.Linear(d_model, d_ff, bias=False)
        self.v = nn.Linear(d_model, d_ff, bias=False)
        self.w2 = nn.Linear(d_ff, d_model, bias=False)

    def forward(self, x):
        gate = self.w(x)
        return self.w2(gate * torch.sigmoid(gate) * self.v(x))


u = torch.linspace(-6, 6, 1001, dtype=DTYPE)
torch.testing.assert_close(gelu(u), F.gelu(u))
torch.testing.assert_close(gelu_tanh(u), F.gelu(u, approximate="tanh"))
print("GELU matches F.gelu; tanh approximation matches F.gelu(approximate='tanh');",
      f"the two differ by at most {(gelu(u) - gelu_tanh(u)).abs().max():.1e}")

with torch.no_grad():
    ffn = FeedForward(D, 4 * D).to(DTYPE)
    out = ffn(x)
    # position-wise: each position alone gives the same output, and shuffling positions shuffles outputs
    per_position = torch.stack([ffn(x[:, t]) for t in range(T)], dim=1)
    torch.testing.assert_close(out, per_position)
    perm = torch.randperm(T)
    torch.testing.assert_close(ffn(x[:, perm]), out[:, perm])
    print("FFN is position-wise: per-position and permuted inputs give the same outputs")

    swiglu = SwiGLU(D, 4 * D).to(DTYPE)
    gate = x @ swiglu.w.weight.T
    torch.testing.assert_close(swiglu(x), (F.silu(gate) * (x @ swiglu.v.weight.T)) @ swiglu.w2.weight.T)

for d in (96, 192, 768):
    n_gelu = sum(p.numel() for p in FeedForward(d, 4 * d).parameters())
    n_swiglu = sum(p.numel() for p in SwiGLU(d, 8 * d // 3).parameters())
    assert n_gelu == 8 * d * d + 5 * d and n_swiglu == 8 * d * d, (d, n_gelu, n_swiglu)
print("weights: GELU FFN with d_ff = 4d and SwiGLU with d_ff = 8d/3 both have 8 d^2 (plus 5d biases for GELU)")

# %% [markdown] tags=["en"]
# ## Causal self-attention { #causal-self-attention }
#
# Self-attention takes $Q = XW^Q$, $K = XW^K$, $V = XW^V$ from the same sequence, splits them into $h$
# heads of size $d/h$, and applies $\operatorname{softmax}(QK^\top/\sqrt{d_k} + M)\,V$ with $M_{ij} = -\infty$
# for $j > i$, so position $i$ sees only positions $\le i$. The [attention notebook](attention.ipynb)
# derives each step; here it is a module. One `nn.Linear` computes $Q$, $K$ and $V$ together, stored in
# the same layout as `nn.MultiheadAttention.in_proj_weight`, so weights can be copied across.

# %% [markdown] tags=["zh"]
# ## 因果自注意力 { #causal-self-attention }
#
# 自注意力从同一个序列得到 $Q = XW^Q$、$K = XW^K$、$V = XW^V$，拆成 $h$ 个维度为 $d/h$ 的头，再计算
# $\operatorname{softmax}(QK^\top/\sqrt{d_k} + M)\,V$，其中 $j > i$ 时 $M_{ij} = -\infty$，因此位置 $i$ 只能看到
# $\le i$ 的位置。[注意力 notebook](attention.ipynb) 逐步推导了每一步，这里把它写成一个模块。$Q$、$K$、$V$
# 由一个 `nn.Linear` 一次算出，权重布局与 `nn.MultiheadAttention.in_proj_weight` 相同，方便互相复制权重。

# %%
class CausalSelfAttention(nn.Module):
    """Multi-head self-attention with a causal mask; x: (B, T, d_model) -> (B, T, d_model)."""

    def __init__(self, d_model, n_heads):
        super().__init__()
        assert d_model % n_heads == 0
        self.n_heads = n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)  # rows: [W_Q; W_K; W_V], as in nn.MultiheadAttention
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x):
        b, t, d = x.shape
        q, k, v = self.qkv(x).split(d, dim=-1)
        q, k, v = (z.view(b, t, self.n_heads, d // self.n_heads).transpose(1, 2) for z in (q, k, v))
        scores = q @ k.transpose(-2, -1) / math.sqrt(d // self.n_heads)  # (B, h, T, T)
        future = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        weights = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        heads = (weights @ v).transpose(1, 2).reshape(b, t, d)  # concatenate the heads
        return self.out(heads)


# %% [markdown] tags=["en"]
# ## The decoder block { #decoder-block }
#
# A decoder-only block has two sublayers, each with a residual connection and a LayerNorm. Pre-LN (GPT-2
# and most later LLMs) normalizes the input of each sublayer; post-LN (the original Transformer)
# normalizes after the residual sum:
#
# $$
# \text{pre-LN: } \begin{aligned} h &= x + \operatorname{Attn}(\operatorname{LN}_1(x)) \\ y &= h + \operatorname{FFN}(\operatorname{LN}_2(h)) \end{aligned}
# \qquad\qquad
# \text{post-LN: } \begin{aligned} h &= \operatorname{LN}_1(x + \operatorname{Attn}(x)) \\ y &= \operatorname{LN}_2(h + \operatorname{FFN}(h)) \end{aligned}
# $$
#
# The reference is `nn.TransformerEncoderLayer` with a causal mask. `nn.TransformerDecoderLayer` would be
# wrong here: it adds a cross-attention sublayer over an encoder's output, which a GPT-style block does
# not have. Causal self-attention plus FFN is exactly an "encoder" layer with a causal mask. We copy our
# weights into it and compare both arrangements in float64, with dropout off.

# %% [markdown] tags=["zh"]
# ## 解码器块 { #decoder-block }
#
# decoder-only 的块有两个子层，每个子层都带残差连接和 LayerNorm。pre-LN（GPT-2 及之后的大多数大模型）对每个子层的输入做归一化；
# post-LN（原始 Transformer）在残差相加之后做归一化：
#
# $$
# \text{pre-LN: } \begin{aligned} h &= x + \operatorname{Attn}(\operatorname{LN}_1(x)) \\ y &= h + \operatorname{FFN}(\operatorname{LN}_2(h)) \end{aligned}
# \qquad\qquad
# \text{post-LN: } \begin{aligned} h &= \operatorname{LN}_1(x + \operatorname{Attn}(x)) \\ y &= \operatorname{LN}_2(h + \operatorname{FFN}(h)) \end{aligned}
# $$
#
# 参照实现是带因果掩码的 `nn.TransformerEncoderLayer`。这里不能用 `nn.TransformerDecoderLayer`：它多了一个对编码器输出做交叉注意力
# （Cross-Attention）的子层，而 GPT 式的块没有这一层。因果自注意力加 FFN，正好就是一个带因果掩码的「编码器」层。
# 我们把自己的权重复制进去，在 float64、关闭 dropout 的条件下对比两种排列方式。

# %%
class DecoderBlock(nn.Module):
    """Decoder-only Transformer block: causal self-attention and a GELU FFN, pre-LN or post-LN."""

    def __init__(self, d_model, n_heads, d_ff=None, norm_first=True):
        super().__init__()
        self.norm_first = norm_first
        self.ln1 = LayerNorm(d_model)
        self.attn = CausalSelfAttention(d_model, n_heads)
        self.ln2 = LayerNorm(d_model)
        self.ffn = FeedForward(d_model, d_ff or 4 * d_model)

    def forward(self, x):
        if self.norm_first:  # pre-LN: the residual stream itself is never normalized
            x = x + self.attn(self.ln1(x))
            return x + self.ffn(self.ln2(x))
        x = self.ln1(x + self.attn(x))  # post-LN: normalize after each residual sum
        return self.ln2(x + self.ffn(x))


def reference_layer(block):
    """nn.TransformerEncoderLayer holding the same weights as our DecoderBlock."""
    d_model = block.ln1.weight.numel()
    ref = nn.TransformerEncoderLayer(
        d_model, block.attn.n_heads, block.ffn.fc1.out_features, dropout=0.0, activation="gelu",
        batch_first=True, norm_first=block.norm_first, dtype=DTYPE,
    )
    pairs = [
        (ref.self_attn.in_proj_weight, block.attn.qkv.weight), (ref.self_attn.in_proj_bias, block.attn.qkv.bias),
        (ref.self_attn.out_proj.weight, block.attn.out.weight), (ref.self_attn.out_proj.bias, block.attn.out.bias),
        (ref.linear1.weight, block.ffn.fc1.weight), (ref.linear1.bias, block.ffn.fc1.bias),
        (ref.linear2.weight, block.ffn.fc2.weight), (ref.linear2.bias, block.ffn.fc2.bias),
        (ref.norm1.weight, block.ln1.weight), (ref.norm1.bias, block.ln1.bias),
        (ref.norm2.weight, block.ln2.weight), (ref.norm2.bias, block.ln2.bias),
    ]
    with torch.no_grad():
        for target, source in pairs:
            target.copy_(source)
    return ref.eval()


D_MODEL, N_HEADS, T_SEQ = 32, 4, 7
x_seq = torch.randn(B, T_SEQ, D_MODEL, dtype=DTYPE)
causal_mask = nn.Transformer.generate_square_subsequent_mask(T_SEQ, dtype=DTYPE)  # -inf above the diagonal

for norm_first in (True, False):
    block = DecoderBlock(D_MODEL, N_HEADS, norm_first=norm_first).to(DTYPE).eval()
    with torch.no_grad():  # non-trivial LayerNorm parameters, so a swapped ln1/ln2 would show
        for ln in (block.ln1, block.ln2):
            ln.weight.add_(0.3 * torch.randn(D_MODEL, dtype=DTYPE))
            ln.bias.add_(0.3 * torch.randn(D_MODEL, dtype=DTYPE))
        ours = block(x_seq)
        ref = reference_layer(block)(x_seq, src_mask=causal_mask, is_causal=True)
    torch.testing.assert_close(ours, ref)
    print(f"{'pre-LN' if norm_first else 'post-LN'} block matches nn.TransformerEncoderLayer:", max_err(ours, ref))

# %% [markdown] tags=["en"]
# The mask must make the block causal as a whole: changing the last tokens must leave every earlier
# output unchanged, bit for bit, while the FFN and the LayerNorms act on each position separately.

# %% [markdown] tags=["zh"]
# 掩码必须让整个块满足因果性：修改最后几个 token 时，前面所有位置的输出必须逐比特不变；FFN 和 LayerNorm 本来就是逐位置计算的。

# %%
block = DecoderBlock(D_MODEL, N_HEADS).to(DTYPE).eval()
x_changed = x_seq.clone()
x_changed[:, 5:] = torch.randn(B, T_SEQ - 5, D_MODEL, dtype=DTYPE)
with torch.no_grad():
    y_orig, y_changed = block(x_seq), block(x_changed)
torch.testing.assert_close(y_changed[:, :5], y_orig[:, :5], rtol=0, atol=0)
assert not torch.allclose(y_changed[:, 5:], y_orig[:, 5:])
print("changing positions 5-6 leaves outputs 0-4 bit-identical")

# %% [markdown] tags=["en"]
# ## Parameter count { #parameter-count }
#
# Attention has four $d \times d$ projections with biases, $4d^2 + 4d$. The FFN has
# $2\,d\,d_{ff} + d_{ff} + d$, and each LayerNorm $2d$. With $d_{ff} = 4d$:
#
# $$
# N_{\text{block}} = \underbrace{4d^2 + 4d}_{\text{attention}} + \underbrace{8d^2 + 5d}_{\text{FFN}} + \underbrace{4d}_{\text{2 LN}} = 12d^2 + 13d .
# $$
#
# The $13d$ term is negligible at scale: at $d = 4096$ it is 0.03% of the block. We check the formula
# against `sum(p.numel())` for our block and for `nn.TransformerEncoderLayer`, for several widths and
# head counts (the count does not depend on $h$).

# %% [markdown] tags=["zh"]
# ## 参数量 { #parameter-count }
#
# 注意力有四个带偏置的 $d \times d$ 投影，共 $4d^2 + 4d$ 个参数。FFN 有 $2\,d\,d_{ff} + d_{ff} + d$ 个，每个
# LayerNorm 有 $2d$ 个。取 $d_{ff} = 4d$：
#
# $$
# N_{\text{block}} = \underbrace{4d^2 + 4d}_{\text{attention}} + \underbrace{8d^2 + 5d}_{\text{FFN}} + \underbrace{4d}_{\text{2 LN}} = 12d^2 + 13d .
# $$
#
# 在大模型的尺度上 $13d$ 可以忽略：$d = 4096$ 时只占一个块的 0.03%。下面对多种宽度和头数，把公式与我们的块以及
# `nn.TransformerEncoderLayer` 的 `sum(p.numel())` 对比（参数量与 $h$ 无关）。

# %%
def block_params(d_model, d_ff=None):
    """Parameters of one block with biases and two LayerNorms; 12 d^2 + 13 d when d_ff = 4 d."""
    d_ff = d_ff or 4 * d_model
    return (4 * d_model**2 + 4 * d_model) + (2 * d_model * d_ff + d_ff + d_model) + 4 * d_model


for d_model, n_heads in ((32, 4), (64, 1), (64, 8), (96, 6), (256, 8)):
    ours = sum(p.numel() for p in DecoderBlock(d_model, n_heads).parameters())
    ref = sum(p.numel() for p in nn.TransformerEncoderLayer(d_model, n_heads, 4 * d_model).parameters())
    assert ours == ref == block_params(d_model) == 12 * d_model**2 + 13 * d_model, (d_model, ours, ref)
    print(f"d={d_model:>3}, h={n_heads}: {ours:>9,} parameters = 12d^2 + 13d; 12d^2 alone is {12 * d_model**2 / ours:.1%}")
assert sum(p.numel() for p in DecoderBlock(64, 4, d_ff=100).parameters()) == block_params(64, d_ff=100)
print(f"d = 4096: 13d / (12d^2 + 13d) = {13 * 4096 / block_params(4096):.2%}")

# %% [markdown] tags=["en"]
# ## Pre-LN vs post-LN at initialization { #pre-ln-vs-post-ln }
#
# *On Layer Normalization in the Transformer Architecture* (Xiong et al., 2020) showed that at
# initialization a post-LN Transformer has large gradients for the parameters near the output, and that
# their size does not shrink with depth, whereas in pre-LN they scale like $1/\sqrt{L}$. This is why
# post-LN needs a learning-rate warm-up. We reproduce the measurement with our block: stacks of
# $L \in \{6, 12, 24, 48\}$ blocks with $d = 64$, Xavier-initialized as in that analysis, a next-token
# loss on random tokens, and the gradient norm of each layer's FFN output weight $W_2$, averaged over
# three seeds. We also record the norm of the residual stream entering each layer.

# %% [markdown] tags=["zh"]
# ## 初始化时的 pre-LN 与 post-LN { #pre-ln-vs-post-ln }
#
# *On Layer Normalization in the Transformer Architecture*（Xiong 等，2020）指出：初始化时，post-LN Transformer
# 中靠近输出的参数梯度很大，而且不随深度减小；pre-LN 中这些梯度则按 $1/\sqrt{L}$ 缩小。这就是 post-LN
# 需要学习率预热（Warm-up）的原因。我们用自己的块复现这一测量：堆叠 $L \in \{6, 12, 24, 48\}$ 个 $d = 64$ 的块，
# 按该分析的设定使用 Xavier 初始化，在随机 token 上计算下一个 token 的损失，测量每层 FFN 输出权重 $W_2$
# 的梯度范数，并对三个随机种子取平均。同时记录进入每一层的残差流的范数。

# %%
def init_xavier(module):
    """Xavier-uniform weights and zero biases in every nn.Linear, the setting analysed by Xiong et al."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)


def stack_gradients(norm_first, n_layers, seed, d_model=64, n_heads=4, vocab=64, batch=8, seq=16):
    """At initialization, for a next-token loss on random tokens: per-layer gradient norm of the FFN
    output weight W_2, and the mean norm of the residual stream entering each layer."""
    torch.manual_seed(seed)
    blocks = nn.Sequential(*[DecoderBlock(d_model, n_heads, norm_first=norm_first) for _ in range(n_layers)])
    init_xavier(blocks)
    embed, head = nn.Embedding(vocab, d_model), nn.Linear(d_model, vocab)
    final_ln = LayerNorm(d_model) if norm_first else nn.Identity()  # pre-LN ends with its own norm
    ids = torch.randint(vocab, (batch, seq + 1))
    x, stream_norms = embed(ids[:, :-1]), []
    for block in blocks:
        stream_norms.append(x.norm(dim=-1).mean().item())
        x = block(x)
    F.cross_entropy(head(final_ln(x)).flatten(0, 1), ids[:, 1:].flatten()).backward()
    grads = torch.tensor([block.ffn.fc2.weight.grad.norm().item() for block in blocks])
    return grads, torch.tensor(stream_norms)


DEPTHS, SEEDS, D_STACK = (6, 12, 24, 48), (0, 1, 2), 64
grad_norms, stream_norms = {}, {}
for norm_first in (False, True):
    for depth in DEPTHS:
        runs = [stack_gradients(norm_first, depth, seed, d_model=D_STACK) for seed in SEEDS]
        grad_norms[norm_first, depth] = torch.stack([g for g, _ in runs]).mean(0)
        stream_norms[norm_first, depth] = torch.stack([n for _, n in runs]).mean(0)

print(f"{'L':>3} | {'post-LN W2 grad: first, last layer':>35} | {'pre-LN W2 grad: first, last layer':>34} | pre-LN stream norm")
for depth in DEPTHS:
    post, pre, norm = grad_norms[False, depth], grad_norms[True, depth], stream_norms[True, depth]
    print(f"{depth:>3} | {post[0]:>27.3f} {post[-1]:>7.3f} | {pre[0]:>26.3f} {pre[-1]:>7.3f} | {norm[0]:.1f} -> {norm[-1]:.1f}")


def quarter_ratio(g):
    """Mean gradient of the last quarter of the layers over the mean of the first quarter."""
    q = len(g) // 4
    return (g[-q:].mean() / g[:q].mean()).item()


for depth in DEPTHS:
    post, pre = grad_norms[False, depth], grad_norms[True, depth]
    # post-LN: LN resets the stream to norm sqrt(d) after every sublayer; all layers get similar gradients
    torch.testing.assert_close(stream_norms[False, depth][1:], torch.full((depth - 1,), math.sqrt(D_STACK)), rtol=0.02, atol=0)
    assert 0.67 < quarter_ratio(post) < 1.5, (depth, quarter_ratio(post))
    # pre-LN: the stream grows, LN divides by its norm, so gradient x stream norm is nearly constant
    assert quarter_ratio(pre) < 0.75, (depth, quarter_ratio(pre))
    scaled = pre * stream_norms[True, depth]
    assert scaled.max() / scaled.min() < 1.5, (depth, scaled)

top_post = torch.tensor([grad_norms[False, depth][-1] for depth in DEPTHS])
top_pre = torch.tensor([grad_norms[True, depth][-1] for depth in DEPTHS])
assert top_post.max() / top_post.min() < 1.5  # post-LN: the top layer's gradient does not shrink with L
assert top_pre[-1] / top_pre[0] < 0.55  # pre-LN: 8x deeper, ~1/sqrt(8) = 0.35 of the top gradient
gap = top_post / top_pre
assert (gap[1:] > gap[:-1]).all() and gap[-1] > 3, gap  # the post/pre gap widens with depth
print("top-layer gradient, post-LN / pre-LN:", ", ".join(f"L={d}: {r:.1f}x" for d, r in zip(DEPTHS, gap.tolist())))
g48, n48 = grad_norms[True, 48], stream_norms[True, 48]
spreads = [(t.max() / t.min()).item() for t in (g48, n48, g48 * n48)]
print("pre-LN, L=48, max/min over the layers: gradient {:.1f}, stream norm {:.1f}, their product {:.2f}".format(*spreads))

# %%
DEPTH_LABELS = {
    "en": {"layer": "layer $l$ ($L = 24$)", "grad": r"$\|\nabla_{W_2}\mathcal{L}\|$ at init",
           "depth": "number of layers $L$", "top": r"last layer's $\|\nabla_{W_2}\mathcal{L}\|$",
           "sqrt": r"$\propto 1/\sqrt{L}$"},
    "zh": {"layer": "第 $l$ 层（$L = 24$）", "grad": r"初始化时的 $\|\nabla_{W_2}\mathcal{L}\|$",
           "depth": "层数 $L$", "top": r"最后一层的 $\|\nabla_{W_2}\mathcal{L}\|$",
           "sqrt": r"$\propto 1/\sqrt{L}$"},
}


def draw_pre_post(lang):
    labels = DEPTH_LABELS[lang]
    fig, (ax_l, ax_d) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    layers = range(1, 25)
    ax_l.plot(layers, grad_norms[False, 24].numpy(), "s--", markersize=3, label="post-LN")
    ax_l.plot(layers, grad_norms[True, 24].numpy(), "o-", markersize=3, label="pre-LN")
    ax_l.set(xlabel=labels["layer"], ylabel=labels["grad"], ylim=(0, None))
    ax_d.loglog(DEPTHS, top_post.numpy(), "s--", label="post-LN")
    ax_d.loglog(DEPTHS, top_pre.numpy(), "o-", label="pre-LN")
    ax_d.loglog(DEPTHS, top_pre[0].item() * (DEPTHS[0] / torch.tensor(DEPTHS)) ** 0.5, ":", color="gray", label=labels["sqrt"])
    ax_d.set(xlabel=labels["depth"], ylabel=labels["top"])
    ax_d.set_xticks(DEPTHS, [str(d) for d in DEPTHS])
    ax_d.set_yticks([0.05, 0.1, 0.2, 0.4], ["0.05", "0.1", "0.2", "0.4"])
    ax_d.minorticks_off()
    for ax in (ax_l, ax_d):
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


show(draw_pre_post)

# %% [markdown] tags=["en"]
# What we measure at initialization:
#
# - **Post-LN** renormalizes the stream to norm $\sqrt{d}$ after every sublayer, and all layers, early or
#   late, receive gradients of about the same size, whatever the depth. So the layers near the output
#   receive as large a gradient at $L = 48$ as at $L = 6$.
# - **Pre-LN** never normalizes the stream itself: every block adds to it, so its norm grows with depth.
#   Each block sees its input through $\operatorname{LN}$, whose Jacobian divides by that norm, so the
#   gradient of layer $l$ is proportional to $1/\|x_l\|$: over 48 layers the gradient and the stream
#   norm each change about five-fold, their product by about 20%. The top layer's gradient falls
#   roughly like $1/\sqrt{L}$.
#
# At 48 layers the last layer of the post-LN stack gets about five times the pre-LN gradient. With the
# same learning rate its first updates are much larger, which is the instability that warm-up tames
# (see [learning-rate schedules](../training.md#learning-rate-schedules) and
# [loss spikes](../training.md#loss-spikes)). The price of pre-LN is the growing stream: deep layers
# change it relatively less, and some work reports that post-LN, when it does train stably, ends with
# slightly better quality.

# %% [markdown] tags=["zh"]
# 初始化时测到的现象：
#
# - **post-LN** 在每个子层之后都把残差流重新归一化到范数 $\sqrt{d}$，无论深度如何，前面和后面的层得到的梯度大小都差不多。
#   因此在 $L = 48$ 时，靠近输出的层得到的梯度与 $L = 6$ 时一样大。
# - **pre-LN** 从不对残差流本身做归一化：每个块都往里加东西，范数随深度增长。每个块通过 $\operatorname{LN}$ 读取输入，
#   而 LN 的雅可比矩阵要除以这个范数，所以第 $l$ 层的梯度与 $1/\|x_l\|$ 成正比：在 48 层中，梯度和残差流范数各自变化约五倍，
#   两者的乘积只变化约 20%。最后一层的梯度大致按 $1/\sqrt{L}$ 下降。
#
# 在 48 层时，post-LN 最后一层的梯度约为 pre-LN 的五倍。学习率相同时，它最初的更新步长要大得多，这正是学习率预热要抑制的不稳定
# （见[学习率调度](../training.md#learning-rate-schedules)和[损失尖峰](../training.md#loss-spikes)）。pre-LN 的代价是残差流不断变大：
# 深层对它的相对改动更小。也有研究报告，post-LN 一旦能稳定训练，最终效果会略好一些。

# %% [markdown] tags=["en"]
# ## Takeaways { #takeaways }
#
# - LayerNorm normalizes each token over its features with the biased variance; RMSNorm drops the mean
#   and the bias.
# - The residual connection adds an identity to every layer's Jacobian, so gradients reach the input
#   of a deep stack; without it they vanish geometrically.
# - The FFN is a per-position MLP holding $8d^2$ of the block's $12d^2$ weights; SwiGLU keeps that count
#   with $d_{ff} = 8d/3$.
# - A decoder-only block is causal self-attention plus an FFN, which is `nn.TransformerEncoderLayer` with
#   a causal mask, not `nn.TransformerDecoderLayer`.
# - One block has $12d^2 + 13d$ parameters for $d_{ff} = 4d$, independent of the number of heads.
# - At initialization post-LN gives the top layers large, depth-independent gradients; pre-LN scales
#   them down with the growing residual stream.
#
# Back to the questions: [Transformer architecture](../fundamentals.md#transformer-architecture) ·
# [layer normalization and residual connections](../fundamentals.md#layernorm-residual) ·
# [attention](../fundamentals.md#attention-mechanism). The [tiny GPT notebook](tiny-gpt.ipynb) stacks
# these blocks into a language model and trains it.

# %% [markdown] tags=["zh"]
# ## 小结 { #takeaways }
#
# - LayerNorm 对每个 token 在特征维度上做归一化，用的是有偏方差；RMSNorm 去掉了均值和偏置。
# - 残差连接在每一层的雅可比矩阵上加了一个单位矩阵，梯度因此能传到深层网络的输入；没有它，梯度会按几何级数消失。
# - FFN 是逐位置的 MLP，占一个块 $12d^2$ 个权重中的 $8d^2$；SwiGLU 取 $d_{ff} = 8d/3$，保持这个数量不变。
# - decoder-only 的块就是因果自注意力加 FFN，相当于带因果掩码的 `nn.TransformerEncoderLayer`，而不是
#   `nn.TransformerDecoderLayer`。
# - $d_{ff} = 4d$ 时一个块有 $12d^2 + 13d$ 个参数，与头数无关。
# - 初始化时，post-LN 给靠近输出的层很大且与深度无关的梯度；pre-LN 则随着残差流变大而把它们缩小。
#
# 回到问答页：[Transformer 架构](../fundamentals.md#transformer-architecture) ·
# [层归一化与残差连接](../fundamentals.md#layernorm-residual) ·
# [注意力机制](../fundamentals.md#attention-mechanism)。[Tiny GPT notebook](tiny-gpt.ipynb) 把这些块堆叠成一个语言模型并完成训练。
