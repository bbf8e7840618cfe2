# %% [markdown] tags=["en"]
# # Positional encodings
#
# This notebook computes the sinusoidal positional encoding exactly as the formula states, checks that
# a shift by $k$ positions is a fixed rotation, and implements rotary position embedding (RoPE) with a
# numeric check that attention scores depend only on the relative position. It illustrates the answers
# on [positional encodings](../fundamentals.md#positional-encoding) and [RoPE](../fundamentals.md#rope).
# Every check is an `assert`, so a wrong implementation fails the build.

# %% [markdown] tags=["zh"]
# # 位置编码
#
# 本 notebook 严格按公式计算正弦位置编码（Sinusoidal Positional Encoding），验证平移 $k$ 个位置等于一个固定的旋转，
# 并从零实现旋转位置编码（Rotary Position Embedding，RoPE），用数值验证注意力分数只依赖于相对位置。
# 对应问答页中的[位置编码](../fundamentals.md#positional-encoding)和 [RoPE](../fundamentals.md#rope) 两题。
# 每项校验都是一条 `assert`，实现有误时构建会直接失败。

# %%
import math

import matplotlib.pyplot as plt
import torch
from _figures import show

torch.manual_seed(0)
DTYPE = torch.float64  # float64 keeps the comparisons tight


def max_err(a, b):
    return f"max abs error {(a - b).abs().max().item():.1e}"


# %% [markdown] tags=["en"]
# ## Sinusoidal encoding { #sinusoidal }
#
# The original Transformer adds to the embedding at position $pos$ a fixed vector with sine on the even
# dimensions and cosine on the odd ones:
#
# $$
# PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d_{\text{model}}}}\right),\qquad
# PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d_{\text{model}}}}\right),\qquad 0 \le i < d_{\text{model}}/2
# $$
#
# Pair $i$ is a sinusoid with frequency $\omega_i = 10000^{-2i/d_{\text{model}}}$. The vectorized code
# writes the sines into columns `0::2` and the cosines into columns `1::2` (interleaved). We check it
# element by element against a plain double loop over the formula.

# %% [markdown] tags=["zh"]
# ## 正弦位置编码 { #sinusoidal }
#
# 原始 Transformer 在位置 $pos$ 的嵌入上加一个固定向量，偶数维用正弦、奇数维用余弦：
#
# $$
# PE_{(pos,\,2i)} = \sin\!\left(\frac{pos}{10000^{2i/d_{\text{model}}}}\right),\qquad
# PE_{(pos,\,2i+1)} = \cos\!\left(\frac{pos}{10000^{2i/d_{\text{model}}}}\right),\qquad 0 \le i < d_{\text{model}}/2
# $$
#
# 第 $i$ 对维度是频率为 $\omega_i = 10000^{-2i/d_{\text{model}}}$ 的正弦曲线。向量化的实现把正弦写入第 `0::2` 列、
# 余弦写入第 `1::2` 列（交错排列），下面用直接套公式的二重循环逐元素核对。

# %%
def sinusoidal_pe(n_pos, d_model, base=10000.0):
    """(n_pos, d_model): sin on even dims 2i, cos on odd dims 2i+1."""
    pos = torch.arange(n_pos, dtype=DTYPE)[:, None]                        # (n_pos, 1)
    omega = base ** (-torch.arange(0, d_model, 2, dtype=DTYPE) / d_model)  # (d_model/2,)
    pe = torch.zeros(n_pos, d_model, dtype=DTYPE)
    pe[:, 0::2] = torch.sin(pos * omega)
    pe[:, 1::2] = torch.cos(pos * omega)
    return pe


N_POS, D_MODEL = 128, 64
pe = sinusoidal_pe(N_POS, D_MODEL)

# the formula, one element at a time
loop = torch.zeros(N_POS, D_MODEL, dtype=DTYPE)
for pos in range(N_POS):
    for i in range(D_MODEL // 2):
        angle = pos / 10000 ** (2 * i / D_MODEL)
        loop[pos, 2 * i] = math.sin(angle)
        loop[pos, 2 * i + 1] = math.cos(angle)
torch.testing.assert_close(pe, loop, rtol=0, atol=1e-12)
print("vectorized encoding matches the formula element-wise:", max_err(pe, loop))

torch.testing.assert_close(pe[0], torch.tensor([0.0, 1.0] * (D_MODEL // 2), dtype=DTYPE))
print("position 0 is (sin 0, cos 0, ...) = (0, 1, 0, 1, ...)")

# %% [markdown] tags=["en"]
# Some code concatenates all sines and then all cosines. That layout is a fixed permutation of the
# columns, not the formula above: the two agree only after reordering.

# %% [markdown] tags=["zh"]
# 有些代码先放全部正弦、再放全部余弦（拼接）。这种布局是对列的一个固定置换，并不是上面的公式：两者只有在重新排列后才一致。

# %%
concat = torch.cat([pe[:, 0::2], pe[:, 1::2]], dim=1)  # [sin ... sin, cos ... cos]
perm = torch.cat([torch.arange(0, D_MODEL, 2), torch.arange(1, D_MODEL, 2)])
assert not torch.allclose(concat, pe)
torch.testing.assert_close(concat, pe[:, perm], rtol=0, atol=0)
print("the concatenated layout differs from the formula and equals a column permutation of it")

# %% [markdown] tags=["en"]
# ## Heatmap of the encoding { #pe-heatmap }
#
# Each row is the vector added at one position. The first columns (small $i$) oscillate quickly along
# the positions, the last ones change slowly: the wavelengths $2\pi/\omega_i$ grow geometrically from
# $2\pi$ toward $10000 \cdot 2\pi$.

# %% [markdown] tags=["zh"]
# ## 位置编码热力图 { #pe-heatmap }
#
# 每一行是加在某个位置上的向量。前面的列（$i$ 较小）随位置快速振荡，后面的列变化缓慢：波长 $2\pi/\omega_i$
# 从 $2\pi$ 开始按等比数列增长，趋向 $10000 \cdot 2\pi$。

# %%
omega = 10000.0 ** (-torch.arange(0, D_MODEL, 2, dtype=DTYPE) / D_MODEL)
wavelength = 2 * math.pi / omega
assert math.isclose(wavelength[0].item(), 2 * math.pi)
torch.testing.assert_close(wavelength[1:] / wavelength[:-1], torch.full((D_MODEL // 2 - 1,), 10000 ** (2 / D_MODEL), dtype=DTYPE))
print(f"wavelengths: {wavelength[0]:.2f} ... {wavelength[-1]:.0f}, ratio {10000 ** (2 / D_MODEL):.4f} per pair")

PE_LABELS = {"en": ("dimension $j$", "position $pos$"), "zh": ("维度 $j$", "位置 $pos$")}


def draw_pe(lang):
    fig, ax = plt.subplots(figsize=(7, 4.2), layout="constrained")
    im = ax.imshow(pe.numpy(), cmap="viridis", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xlabel(PE_LABELS[lang][0])
    ax.set_ylabel(PE_LABELS[lang][1])
    fig.colorbar(im, ax=ax, label=r"$PE_{(pos,\,j)}$")
    return fig


show(draw_pe)

# %% [markdown] tags=["en"]
# ## A shift is a rotation { #shift-is-rotation }
#
# For a fixed offset $k$, each $(\sin, \cos)$ pair at position $pos + k$ is a rotation of the pair at $pos$:
#
# $$
# \begin{pmatrix}\sin\omega_i(pos+k)\\ \cos\omega_i(pos+k)\end{pmatrix}
# =
# \begin{pmatrix}\cos\omega_i k & \sin\omega_i k\\ -\sin\omega_i k & \cos\omega_i k\end{pmatrix}
# \begin{pmatrix}\sin\omega_i pos\\ \cos\omega_i pos\end{pmatrix}
# $$
#
# Stacking the $d_{\text{model}}/2$ blocks on the diagonal gives one matrix $M_k$ with
# $PE_{pos+k} = M_k\,PE_{pos}$ for **every** $pos$. We build $M_k$ for several $k$ and check this for all
# positions at once, together with $M_k^\top M_k = I$ (a rotation) and $M_a M_b = M_{a+b}$.

# %% [markdown] tags=["zh"]
# ## 平移就是旋转 { #shift-is-rotation }
#
# 对固定的偏移 $k$，位置 $pos + k$ 上的每对 $(\sin, \cos)$ 分量都是位置 $pos$ 上那对分量的旋转：
#
# $$
# \begin{pmatrix}\sin\omega_i(pos+k)\\ \cos\omega_i(pos+k)\end{pmatrix}
# =
# \begin{pmatrix}\cos\omega_i k & \sin\omega_i k\\ -\sin\omega_i k & \cos\omega_i k\end{pmatrix}
# \begin{pmatrix}\sin\omega_i pos\\ \cos\omega_i pos\end{pmatrix}
# $$
#
# 把 $d_{\text{model}}/2$ 个这样的块放在对角线上，得到一个矩阵 $M_k$，对**所有** $pos$ 都有
# $PE_{pos+k} = M_k\,PE_{pos}$。下面对几个 $k$ 构造 $M_k$，一次性对所有位置验证这一点，同时验证
# $M_k^\top M_k = I$（它是旋转）和 $M_a M_b = M_{a+b}$。

# %%
def shift_matrix(k, d_model, base=10000.0):
    """Block-diagonal M_k with blocks [[cos w_i k, sin w_i k], [-sin w_i k, cos w_i k]]."""
    omega = base ** (-torch.arange(0, d_model, 2, dtype=DTYPE) / d_model)
    blocks = [torch.tensor([[math.cos(w * k), math.sin(w * k)],
                            [-math.sin(w * k), math.cos(w * k)]], dtype=DTYPE) for w in omega.tolist()]
    return torch.block_diag(*blocks)


eye = torch.eye(D_MODEL, dtype=DTYPE)
for k in (1, 2, 5, 17, 50):
    m_k = shift_matrix(k, D_MODEL)
    shifted = pe[:-k] @ m_k.T  # row pos: M_k @ PE_pos
    torch.testing.assert_close(shifted, pe[k:])
    torch.testing.assert_close(m_k.T @ m_k, eye)
    print(f"k={k:>2}: PE[pos+k] = M_k PE[pos] for all {N_POS - k} positions,", max_err(shifted, pe[k:]))

torch.testing.assert_close(shift_matrix(5, D_MODEL) @ shift_matrix(12, D_MODEL), shift_matrix(17, D_MODEL))
print("M_k is orthogonal, and M_5 M_12 = M_17")

# %% [markdown] tags=["en"]
# A consequence: the dot product of two encodings depends only on their distance,
# $PE_{pos} \cdot PE_{pos+k} = \sum_i \cos(\omega_i k)$. It is even in $k$, so the dot product alone
# cannot tell "before" from "after".

# %% [markdown] tags=["zh"]
# 由此可得：两个位置编码的点积只依赖于距离，$PE_{pos} \cdot PE_{pos+k} = \sum_i \cos(\omega_i k)$。
# 它是 $k$ 的偶函数，所以仅凭点积分不清「之前」和「之后」。

# %%
for k in (0, 1, 7, 40):
    dots = (pe[: N_POS - k] * pe[k:]).sum(-1)  # one value per pos
    expected = torch.cos(omega * k).sum()
    torch.testing.assert_close(dots, expected.expand_as(dots))
    print(f"k={k:>2}: PE[pos] . PE[pos+k] = {expected:.4f} for every pos")

# %% [markdown] tags=["en"]
# ## RoPE from scratch { #rope-from-scratch }
#
# RoPE rotates queries and keys instead of adding a vector. Pair $(x_{2i}, x_{2i+1})$ at position $m$ is
# rotated by the angle $m\theta_i$, with $\theta_i = 10000^{-2i/d}$:
#
# $$
# \begin{pmatrix} x'_{2i}\\ x'_{2i+1}\end{pmatrix}
# =
# \begin{pmatrix}\cos m\theta_i & -\sin m\theta_i\\ \sin m\theta_i & \cos m\theta_i\end{pmatrix}
# \begin{pmatrix} x_{2i}\\ x_{2i+1}\end{pmatrix}
# $$
#
# The elementwise form is $x' = x \odot \cos + \operatorname{rot}(x) \odot \sin$, where $\operatorname{rot}$
# maps each pair $(x_{2i}, x_{2i+1})$ to $(-x_{2i+1}, x_{2i})$. We check it against two independent
# forms: the block-diagonal matrix $R_m$, and complex multiplication of each pair by $e^{\mathrm{i} m\theta_i}$
# with PyTorch's complex tensors.

# %% [markdown] tags=["zh"]
# ## 从零实现 RoPE { #rope-from-scratch }
#
# RoPE 不是加一个向量，而是旋转查询和键。位置 $m$ 上的一对分量 $(x_{2i}, x_{2i+1})$ 旋转角度 $m\theta_i$，
# 其中 $\theta_i = 10000^{-2i/d}$：
#
# $$
# \begin{pmatrix} x'_{2i}\\ x'_{2i+1}\end{pmatrix}
# =
# \begin{pmatrix}\cos m\theta_i & -\sin m\theta_i\\ \sin m\theta_i & \cos m\theta_i\end{pmatrix}
# \begin{pmatrix} x_{2i}\\ x_{2i+1}\end{pmatrix}
# $$
#
# 逐元素的写法是 $x' = x \odot \cos + \operatorname{rot}(x) \odot \sin$，其中 $\operatorname{rot}$ 把每对
# $(x_{2i}, x_{2i+1})$ 映射为 $(-x_{2i+1}, x_{2i})$。下面用两种独立的写法核对它：分块对角矩阵 $R_m$，
# 以及用 PyTorch 的复数张量把每对分量乘以 $e^{\mathrm{i} m\theta_i}$。

# %%
def rope(x, positions, base=10000.0):
    """Rotate pairs (2i, 2i+1) of x: (..., T, d) by angle m * theta_i, m = positions: (T,)."""
    d = x.shape[-1]
    theta = base ** (-torch.arange(0, d, 2, dtype=DTYPE) / d)  # (d/2,)
    angles = positions.to(DTYPE)[:, None] * theta               # (T, d/2)
    cos, sin = angles.cos(), angles.sin()
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x1 * cos - x2 * sin
    out[..., 1::2] = x1 * sin + x2 * cos
    return out


def rope_matrix(m, d, base=10000.0):
    """Block-diagonal R_m with blocks [[cos, -sin], [sin, cos]] at angle m * theta_i."""
    theta = base ** (-torch.arange(0, d, 2, dtype=DTYPE) / d)
    blocks = [torch.tensor([[math.cos(m * t), -math.sin(m * t)],
                            [math.sin(m * t), math.cos(m * t)]], dtype=DTYPE) for t in theta.tolist()]
    return torch.block_diag(*blocks)


D = 64
positions = torch.tensor([0, 1, 2, 7, 100, 1000, 4096])
x = torch.randn(len(positions), D, dtype=DTYPE)  # one vector per position
x_rot = rope(x, positions)

by_matrix = torch.stack([rope_matrix(m, D) @ x[t] for t, m in enumerate(positions.tolist())])
torch.testing.assert_close(x_rot, by_matrix)
print("elementwise RoPE matches R_m @ x:", max_err(x_rot, by_matrix))

theta = 10000.0 ** (-torch.arange(0, D, 2, dtype=DTYPE) / D)
angles = positions.to(DTYPE)[:, None] * theta
x_complex = torch.view_as_complex(x.reshape(len(positions), D // 2, 2))  # pair -> x_2i + i x_2i+1
by_complex = torch.view_as_real(x_complex * torch.polar(torch.ones_like(angles), angles)).reshape(x.shape)
torch.testing.assert_close(x_rot, by_complex)
print("elementwise RoPE matches complex multiplication by exp(i m theta):", max_err(x_rot, by_complex))

torch.testing.assert_close(x_rot[0], x[0], rtol=0, atol=0)
torch.testing.assert_close(x_rot.norm(dim=-1), x.norm(dim=-1))
print("position 0 is the identity, and every rotated vector keeps its norm:",
      max_err(x_rot.norm(dim=-1), x.norm(dim=-1)))

# %% [markdown] tags=["en"]
# RoPE and the sinusoidal encoding share the same frequency ladder: with $d = d_{\text{model}}$, the
# tables $\sin m\theta_i$ and $\cos m\theta_i$ are exactly the even and odd columns of $PE$.

# %% [markdown] tags=["zh"]
# RoPE 与正弦位置编码使用同一套频率阶梯：取 $d = d_{\text{model}}$ 时，$\sin m\theta_i$ 和 $\cos m\theta_i$
# 这两张表正好是 $PE$ 的偶数列和奇数列。

# %%
m_all = torch.arange(N_POS, dtype=DTYPE)[:, None]
torch.testing.assert_close(torch.sin(m_all * theta), pe[:, 0::2])
torch.testing.assert_close(torch.cos(m_all * theta), pe[:, 1::2])
print("RoPE's sin/cos tables equal the even/odd columns of the sinusoidal PE")

# %% [markdown] tags=["en"]
# ## Scores depend only on the offset { #relative-position }
#
# Rotations are orthogonal and compose, so $R_m^\top R_n = R_{n-m}$ and
#
# $$
# \langle R_m q,\; R_n k\rangle = q^\top R_m^\top R_n\, k = q^\top R_{n-m}\, k .
# $$
#
# For a fixed query $q$ and key $k$, we place them at several pairs $(m, n)$ with the same offset
# $m - n$, from near the start to position 5000. The scores must agree, and must equal
# $q^\top R_{n-m}\, k$; scores for different offsets must differ.

# %% [markdown] tags=["zh"]
# ## 分数只依赖于相对偏移 { #relative-position }
#
# 旋转矩阵正交且可以复合，因此 $R_m^\top R_n = R_{n-m}$，并且
#
# $$
# \langle R_m q,\; R_n k\rangle = q^\top R_m^\top R_n\, k = q^\top R_{n-m}\, k .
# $$
#
# 固定一个查询 $q$ 和一个键 $k$，把它们放在偏移 $m - n$ 相同的若干位置对 $(m, n)$ 上，位置从序列开头一直到 5000。
# 这些分数必须相等，并且等于 $q^\top R_{n-m}\, k$；偏移不同时，分数也应不同。

# %%
def rope_score(q, k, m, n):
    """<R_m q, R_n k> for single vectors q, k of size d."""
    return (rope(q[None], torch.tensor([m])) * rope(k[None], torch.tensor([n]))).sum().item()


q, k = torch.randn(D, dtype=DTYPE), torch.randn(D, dtype=DTYPE)
starts = (0, 1, 13, 256, 1000, 5000)
by_offset = {}
for offset in (-9, -1, 0, 3, 40):
    scores = torch.tensor([rope_score(q, k, n + offset, n) for n in starts if n + offset >= 0], dtype=DTYPE)
    expected = (q @ rope_matrix(-offset, D) @ k).item()  # q^T R_{n-m} k
    spread = (scores.max() - scores.min()).item()
    assert spread < 1e-9, (offset, spread)
    torch.testing.assert_close(scores, torch.full_like(scores, expected))
    by_offset[offset] = expected
    print(f"m-n={offset:>3}: {len(scores)} pairs (m, n), score {expected:+.6f}, spread {spread:.1e}")

values = sorted(by_offset.values())
gap = min(b - a for a, b in zip(values, values[1:]))
assert gap > 1e-2, gap
print(f"different offsets give different scores (smallest gap {gap:.3f})")

R_3, R_10 = rope_matrix(3, D), rope_matrix(10, D)
torch.testing.assert_close(R_3.T @ R_10, rope_matrix(7, D))
torch.testing.assert_close(R_3.T @ R_3, torch.eye(D, dtype=DTYPE))
print("R_m is orthogonal and R_3^T R_10 = R_7")

# %% [markdown] tags=["en"]
# The same holds for a whole sequence: if every position carries the same $q$ and the same $k$, the
# score matrix $S_{mn} = \langle R_m q, R_n k\rangle$ is constant along each diagonal (a Toeplitz matrix).

# %% [markdown] tags=["zh"]
# 对整个序列也是如此：若每个位置上的查询都是同一个 $q$、键都是同一个 $k$，分数矩阵
# $S_{mn} = \langle R_m q, R_n k\rangle$ 沿每条对角线都是常数（Toeplitz 矩阵）。

# %%
T_SEQ = 16
pos_seq = torch.arange(T_SEQ)
S = rope(q.expand(T_SEQ, D), pos_seq) @ rope(k.expand(T_SEQ, D), pos_seq).T
for offset in range(-(T_SEQ - 1), T_SEQ):
    diag = torch.diagonal(S, offset=-offset)  # entries with m - n = offset
    torch.testing.assert_close(diag, torch.full_like(diag, by_offset.get(offset, diag[0].item())))
print(f"the {T_SEQ}x{T_SEQ} score matrix is constant along every diagonal")

# %% [markdown] tags=["en"]
# ## Score versus relative distance { #score-vs-distance }
#
# When the query and the key have the same content, the score as a function of the distance is
# $\sum_i \lVert (q_{2i}, q_{2i+1}) \rVert^2 \cos\big((m-n)\theta_i\big)$. With $q = k = \mathbf{1}$ this is
# $2\sum_i \cos\big((m-n)\theta_i\big)$, the curve RoFormer uses to show long-term decay: the fast pairs
# stop adding up coherently as the distance grows, so the score falls from its maximum $d$ at distance 0
# and then oscillates at a lower level. The decay is a tendency of the envelope, not a monotone law.

# %% [markdown] tags=["zh"]
# ## 分数与相对距离 { #score-vs-distance }
#
# 当查询和键内容相同时，分数作为距离的函数为 $\sum_i \lVert (q_{2i}, q_{2i+1}) \rVert^2 \cos\big((m-n)\theta_i\big)$。
# 取 $q = k = \mathbf{1}$ 时即为 $2\sum_i \cos\big((m-n)\theta_i\big)$，RoFormer 正是用这条曲线说明远程衰减：
# 距离变大后，高频的各对分量不再同向叠加，分数从距离 0 处的最大值 $d$ 下降，然后在较低水平上振荡。
# 这种衰减是包络线的趋势，并非严格单调。

# %%
distances = torch.arange(0, 1025)
ones = torch.ones(D, dtype=DTYPE)
q_r = torch.randn(D, dtype=DTYPE)


def scores_vs_distance(q, k):
    """<R_m q, R_0 k> for m = 0..1024: the key at position 0, the query m positions later."""
    return rope(q.expand(len(distances), D), distances) @ k


s_ones = scores_vs_distance(ones, ones)
s_rand = scores_vs_distance(q_r, q_r)
torch.testing.assert_close(s_ones, 2 * torch.cos(distances.to(DTYPE)[:, None] * theta).sum(-1))
assert math.isclose(s_ones[0].item(), D) and (s_ones[1:] < D).all()
near, far = s_ones[1:33].abs().mean().item(), s_ones[512:].abs().mean().item()
assert far < 0.5 * near, (near, far)
print(f"q = k = 1: score {D} at distance 0; mean |score| {near:.1f} at distances 1-32, {far:.1f} at 512-1024")

DISTANCE_LABEL = {"en": "relative distance $m-n$", "zh": "相对距离 $m-n$"}


def draw_score_vs_distance(lang):
    fig, ax = plt.subplots(figsize=(7, 3.4), layout="constrained")
    ax.plot(distances, s_ones, label=r"$q = k = \mathbf{1}$")
    ax.plot(distances, s_rand, label=r"$q = k \sim \mathcal{N}(0, I)$", alpha=0.8)
    ax.axhline(0, color="gray", linewidth=0.8)
    ax.set_xscale("symlog", linthresh=1)  # linear up to 1, then logarithmic
    ax.set_xlim(0, distances[-1].item())
    ax.set_xticks([0, 1, 10, 100, 1000], ["0", "1", "10", "100", "1000"])
    ax.set_xlabel(DISTANCE_LABEL[lang])
    ax.set_ylabel(r"$\langle R_m q,\, R_n k \rangle$")
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


show(draw_score_vs_distance)

# %% [markdown] tags=["en"]
# ## Takeaways { #takeaways }
#
# - The sinusoidal encoding interleaves $\sin$ and $\cos$ per frequency; concatenating them is a
#   permutation, not the same encoding.
# - A shift by $k$ is one fixed rotation $M_k$ for every position, so relative offsets are linear
#   functions of the encoding.
# - RoPE rotates $q$ and $k$ by $m\theta_i$ and keeps their norms. Each token is rotated once at its
#   own position, so cached keys never change, yet $\langle R_m q, R_n k\rangle$ depends only on $m - n$.
#
# Back to the questions: [positional encodings](../fundamentals.md#positional-encoding) ·
# [RoPE](../fundamentals.md#rope).

# %% [markdown] tags=["zh"]
# ## 小结 { #takeaways }
#
# - 正弦位置编码对每个频率交错放置 $\sin$ 和 $\cos$；先放全部正弦再放全部余弦只是一个置换，并不是同一种编码。
# - 平移 $k$ 个位置对所有位置都是同一个旋转 $M_k$，因此相对偏移是编码的线性函数。
# - RoPE 把 $q$ 和 $k$ 旋转 $m\theta_i$，模长保持不变。每个 token 只在自己的位置上旋转一次，缓存的键无需改动，
#   而 $\langle R_m q, R_n k\rangle$ 仍只依赖于 $m - n$。
#
# 回到问答页：[位置编码](../fundamentals.md#positional-encoding) · [RoPE](../fundamentals.md#rope)。
