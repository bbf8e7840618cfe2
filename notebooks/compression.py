# %% [markdown] tags=["en"]
# # Quantization, pruning and the KV cache
#
# This notebook implements INT8 quantization (absmax and zero-point, per tensor and per channel) and checks
# the integer codes against PyTorch's quantized tensors; prunes a small trained network by weight
# magnitude, unstructured and structured, and compares the masks with `torch.nn.utils.prune`; and builds a
# small decoder that generates with and without a KV cache, checks that both give the same tokens, times
# them and verifies the KV-cache memory formula. It illustrates the answers on
# [quantization](../efficiency.md#quantization), [pruning](../efficiency.md#pruning),
# [unstructured vs structured pruning](../efficiency.md#structured-vs-unstructured-pruning) and the
# [KV cache](../efficiency.md#kv-cache). Every check is an `assert`, so a wrong implementation fails the build.

# %% [markdown] tags=["zh"]
# # 量化、剪枝与 KV 缓存
#
# 本 notebook 从零实现 INT8 量化（absmax 与零点两种方式，逐张量与逐通道两种粒度），并与 PyTorch 量化张量的整数编码逐一核对；
# 按权重大小对一个训练好的小网络做非结构化和结构化剪枝，并与 `torch.nn.utils.prune` 的掩码对比；最后搭一个小型解码器，
# 分别在有无 KV 缓存（KV Cache）的情况下生成文本，验证两者生成的 token 相同，测量耗时，并核对 KV 缓存的显存公式。
# 对应问答页中的[量化](../efficiency.md#quantization)、[剪枝](../efficiency.md#pruning)、
# [非结构化与结构化剪枝](../efficiency.md#structured-vs-unstructured-pruning)和 [KV 缓存](../efficiency.md#kv-cache)。
# 每项校验都是一条 `assert`，实现有误时构建会直接失败。

# %%
import copy
import math
import time
import warnings

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from _figures import show
from sklearn.datasets import load_digits
from torch import nn
from torch.nn.utils import prune

torch.manual_seed(0)
torch.set_num_threads(1)  # small matrices: one thread is as fast and gives steadier timings
# torch.quantize_per_* still work but are deprecated (slated for removal); we use them only as a reference
warnings.filterwarnings("ignore", message=r"torch\.quantize_per_tensor.*deprecated")


# %% [markdown] tags=["en"]
# ## INT8 quantization: absmax and zero-point { #int8 }
#
# Quantization maps a float tensor $x$ to integers with a scale $s$ (and possibly a zero-point $z$) and
# maps back with $\hat x = s\,(q - z)$.
#
# **Absmax (symmetric).** The largest magnitude goes to 127, and zero stays zero:
#
# $$
# s = \frac{\max_i |x_i|}{127},\qquad q = \operatorname{clamp}\!\Big(\operatorname{round}\big(x/s\big),\,-127,\,127\Big),\qquad \hat x = s\,q .
# $$
#
# **Zero-point (affine, asymmetric).** The range $[\min x, \max x]$, extended to contain 0 so that 0 is
# exactly representable, is spread over all 256 codes $-128, \dots, 127$:
#
# $$
# s = \frac{\max x - \min x}{255},\qquad z = -128 - \operatorname{round}\!\big(\min x / s\big),\qquad
# q = \operatorname{clamp}\!\Big(\operatorname{round}\big(x/s\big) + z,\,-128,\,127\Big),\qquad \hat x = s\,(q - z).
# $$
#
# Rounding moves each value by at most half a step, so inside the range $|x - \hat x| \le s/2$. Absmax
# wastes codes when the data is lopsided: on a tensor that is mostly positive (like GELU outputs), half of
# its codes stay unused, and the zero-point scheme gets a step about twice as fine.

# %% [markdown] tags=["zh"]
# ## INT8 量化：absmax 与零点 { #int8 }
#
# 量化用一个缩放系数 $s$（有时再加一个零点 $z$）把浮点张量 $x$ 映射为整数，反量化为 $\hat x = s\,(q - z)$。
#
# **absmax（对称量化）。** 绝对值最大的元素映射到 127，0 仍映射到 0：
#
# $$
# s = \frac{\max_i |x_i|}{127},\qquad q = \operatorname{clamp}\!\Big(\operatorname{round}\big(x/s\big),\,-127,\,127\Big),\qquad \hat x = s\,q .
# $$
#
# **零点量化（仿射、非对称量化）。** 把取值范围 $[\min x, \max x]$（扩展到包含 0，使 0 能被精确表示）
# 均匀铺满全部 256 个编码 $-128, \dots, 127$：
#
# $$
# s = \frac{\max x - \min x}{255},\qquad z = -128 - \operatorname{round}\!\big(\min x / s\big),\qquad
# q = \operatorname{clamp}\!\Big(\operatorname{round}\big(x/s\big) + z,\,-128,\,127\Big),\qquad \hat x = s\,(q - z).
# $$
#
# 取整最多让每个值移动半个步长，所以在取值范围内 $|x - \hat x| \le s/2$。数据分布偏向一侧时，absmax 会浪费编码：
# 对一个几乎全为正的张量（例如 GELU 的输出），它有一半编码用不上，而零点量化的步长大约只有它的一半。

# %%
def absmax_quantize(x, dim=None):
    """Symmetric INT8: (codes, scale). dim=None: one scale per tensor; dim=d: one scale per slice along d."""
    if dim is None:
        max_abs = x.abs().max()
    else:  # reduce over every dimension except `dim`, keep the shape for broadcasting
        other = [i for i in range(x.dim()) if i != dim]
        max_abs = x.abs().amax(dim=other, keepdim=True)
    scale = max_abs / 127
    return torch.clamp(torch.round(x / scale), -127, 127).to(torch.int8), scale


def absmax_dequantize(q, scale):
    return q.float() * scale


def zero_point_quantize(x):
    """Affine INT8 over [min, max] extended to include 0: (codes, scale, zero_point)."""
    lo, hi = x.min().clamp(max=0), x.max().clamp(min=0)
    scale = (hi - lo) / 255
    zero_point = int(-128 - torch.round(lo / scale))
    q = torch.clamp(torch.round(x / scale) + zero_point, -128, 127).to(torch.int8)
    return q, scale, zero_point


def zero_point_dequantize(q, scale, zero_point):
    return (q.float() - zero_point) * scale


weights_like = torch.randn(4096)  # symmetric around 0
activations_like = F.gelu(torch.randn(4096) * 2)  # lopsided: from about -0.17 up to about +8

print(f"{'tensor':>12} | {'absmax: scale':>14} {'max err':>8} | {'zero-point: scale':>17} {'z':>5} {'max err':>8}")
for name, x in (("weights", weights_like), ("activations", activations_like)):
    q_sym, s_sym = absmax_quantize(x)
    err_sym = (absmax_dequantize(q_sym, s_sym) - x).abs()
    q_aff, s_aff, z_aff = zero_point_quantize(x)
    err_aff = (zero_point_dequantize(q_aff, s_aff, z_aff) - x).abs()
    # round-trip error is at most half a step, element by element (plus float rounding)
    assert (err_sym <= s_sym / 2 * (1 + 1e-5)).all() and (err_aff <= s_aff / 2 * (1 + 1e-5)).all()
    assert q_sym.abs().max() == 127 and q_aff.min() == -128 and q_aff.max() >= 126  # the range is used
    print(f"{name:>12} | {s_sym.item():14.5f} {err_sym.max().item():8.5f} | {s_aff.item():17.5f} {z_aff:5} "
          f"{err_aff.max().item():8.5f}")

assert s_aff < 0.6 * s_sym  # on the lopsided tensor the affine step is about half the absmax step
print(f"activations: zero-point step is {s_aff / s_sym:.2f}x the absmax step")

# %% [markdown] tags=["en"]
# **Check against PyTorch.** `torch.quantize_per_tensor(x, scale, zero_point, torch.qint8)` stores the same
# INT8 codes (`int_repr()`), and `dequantize()` gives back $s\,(q-z)$. One detail: PyTorch's CPU kernel
# computes $x \cdot (1/s) + z$ with a fused multiply-add instead of $\operatorname{round}(x/s) + z$, so when
# $x/s$ lies on or next to a rounding tie ($n + \tfrac12$), which is rare, it may round the other way. The
# check allows a difference of 1 only there.

# %% [markdown] tags=["zh"]
# **与 PyTorch 对比。** `torch.quantize_per_tensor(x, scale, zero_point, torch.qint8)` 存储的 INT8 编码（`int_repr()`）
# 应与我们的相同，`dequantize()` 返回的就是 $s\,(q-z)$。有一处细节：PyTorch 的 CPU 计算内核用融合乘加（FMA）计算
# $x \cdot (1/s) + z$，而不是 $\operatorname{round}(x/s) + z$，所以当 $x/s$ 恰好落在或紧挨取整中点
# （$n + \tfrac12$）时（这种情况很少见），结果可能向另一侧取整。校验只在这些位置允许相差 1。

# %%
def assert_same_codes(ours, theirs, x_over_s):
    """Identical INT8 codes, except off by one where x/s sits on a rounding tie. Returns the tie count."""
    differ = ours != theirs
    at_tie = ((x_over_s - x_over_s.floor()) - 0.5).abs() < 1e-4
    assert not (differ & ~at_tie).any(), "codes differ away from a rounding tie"
    assert ((ours.int() - theirs.int()).abs() <= 1).all()
    return int(differ.sum())


for name, x in (("weights", weights_like), ("activations", activations_like)):
    q_sym, s_sym = absmax_quantize(x)
    ref_sym = torch.quantize_per_tensor(x, s_sym.item(), 0, torch.qint8)
    ties = assert_same_codes(q_sym, ref_sym.int_repr(), x / s_sym)
    torch.testing.assert_close(absmax_dequantize(q_sym, s_sym), ref_sym.dequantize())

    q_aff, s_aff, z_aff = zero_point_quantize(x)
    ref_aff = torch.quantize_per_tensor(x, s_aff.item(), z_aff, torch.qint8)
    ties += assert_same_codes(q_aff, ref_aff.int_repr(), x / s_aff)
    torch.testing.assert_close(zero_point_dequantize(q_aff, s_aff, z_aff), ref_aff.dequantize())
    print(f"{name}: absmax and zero-point codes match torch.quantize_per_tensor ({ties} tie(s) rounded differently)")

# %% [markdown] tags=["en"]
# ## Per-tensor vs per-channel { #per-channel }
#
# One scale for a whole weight matrix is set by its largest entry. If one output channel (row) has much
# larger weights, every other row gets only a few of the 255 codes. Per-channel quantization gives each row
# its own scale $s_i = \max_j |W_{ij}|/127$, at the cost of storing one scale per row. We build a
# $64 \times 256$ matrix whose row 3 is 50 times larger than the rest.

# %% [markdown] tags=["zh"]
# ## 逐张量与逐通道 { #per-channel }
#
# 整个权重矩阵只用一个缩放系数时，它由最大的元素决定。如果某个输出通道（一行）的权重特别大，其余各行就只能用到
# 255 个编码中的很少几个。逐通道量化（Per-Channel Quantization）给每一行单独的缩放系数
# $s_i = \max_j |W_{ij}|/127$，代价是每行多存一个缩放系数。下面构造一个 $64 \times 256$ 的矩阵，其中第 3 行比其余各行大 50 倍。

# %%
W = 0.02 * torch.randn(64, 256)
W[3] *= 50  # an outlier output channel
OUTLIER_ROW = 3
normal_rows = torch.arange(64) != OUTLIER_ROW

q_tensor, s_tensor = absmax_quantize(W)
q_channel, s_channel = absmax_quantize(W, dim=0)  # s_channel: (64, 1), one scale per row
err_tensor = (absmax_dequantize(q_tensor, s_tensor) - W)[normal_rows].pow(2).mean().item()
err_channel = (absmax_dequantize(q_channel, s_channel) - W)[normal_rows].pow(2).mean().item()
codes_used = q_tensor[normal_rows].abs().max().item()
print(f"per-tensor:  the 63 normal rows use codes up to +-{codes_used} only; MSE on them {err_tensor:.2e}")
print(f"per-channel: every row uses codes up to +-127;           MSE on them {err_channel:.2e} "
      f"({err_tensor / err_channel:.0f}x lower)")
assert err_channel < err_tensor / 100

ref_channel = torch.quantize_per_channel(W, s_channel.squeeze(1).double(), torch.zeros(64, dtype=torch.long),
                                         axis=0, dtype=torch.qint8)
ties = assert_same_codes(q_channel, ref_channel.int_repr(), W / s_channel)
torch.testing.assert_close(absmax_dequantize(q_channel, s_channel), ref_channel.dequantize())
print(f"per-channel codes match torch.quantize_per_channel ({ties} tie(s) rounded differently)")

# %% [markdown] tags=["en"]
# The same logic explains why LLM quantization methods fight outliers: a few large values set the scale
# and crush the resolution of everything else (see [LLM quantization methods](../efficiency.md#llm-quantization-methods)).
# The 4-bit NormalFloat format of QLoRA pushes the same idea to blocks of 64 weights; the
# [LoRA notebook](lora.ipynb#nf4-vs-int4) compares it with INT4.

# %% [markdown] tags=["zh"]
# 同样的道理也解释了为什么大模型的量化方法都在对付离群值：少数几个大值决定了缩放系数，把其余所有值的分辨率都压没了
# （见[大模型量化方法](../efficiency.md#llm-quantization-methods)）。QLoRA 的 4 位 NormalFloat 格式把这个思路推进到每
# 64 个权重一块，[LoRA notebook](lora.ipynb#nf4-vs-int4) 中有它与 INT4 的对比。

# %% [markdown] tags=["en"]
# ## Magnitude pruning: unstructured vs structured { #pruning }
#
# We train a small MLP ($64 \to 128 \to 128 \to 10$) on the 8×8 handwritten digits that ship with
# scikit-learn (no download), then prune the weights of its two hidden layers in one shot, without
# retraining, at the same sparsity $s$ (the share of zeroed weights) in three ways:
#
# - **unstructured, per layer**: in each layer, zero the fraction $s$ of weights with the smallest $|w|$;
# - **unstructured, global**: one threshold on $|w|$ for both layers together, so a layer with many small
#   weights loses more;
# - **structured**: remove the fraction $s$ of **neurons** (rows of $W$, with their bias) with the smallest
#   L2 norm $\lVert W_{i,:}\rVert_2$ in each layer.
#
# Each mask is checked against `torch.nn.utils.prune` (`l1_unstructured`, `global_unstructured`,
# `ln_structured`).

# %% [markdown] tags=["zh"]
# ## 按权重大小剪枝：非结构化与结构化 { #pruning }
#
# 我们在 scikit-learn 自带的 8×8 手写数字数据集（无需下载）上训练一个小型 MLP（$64 \to 128 \to 128 \to 10$），
# 然后对两个隐藏层的权重做一次性剪枝（不再重新训练），在相同稀疏度 $s$（被置零的权重比例）下比较三种做法：
#
# - **非结构化、逐层**：在每一层中，把 $|w|$ 最小的 $s$ 比例的权重置零；
# - **非结构化、全局**：两层合在一起只用一个 $|w|$ 阈值，小权重多的层被剪得更多；
# - **结构化**：在每一层中去掉 L2 范数 $\lVert W_{i,:}\rVert_2$ 最小的 $s$ 比例的**神经元**（$W$ 的整行及其偏置）。
#
# 每种掩码都与 `torch.nn.utils.prune`（`l1_unstructured`、`global_unstructured`、`ln_structured`）的结果核对。

# %%
digits_x, digits_y = load_digits(return_X_y=True)
digits_x = torch.tensor(digits_x, dtype=torch.float32) / 16  # pixel values 0..16 -> 0..1
digits_y = torch.tensor(digits_y)
order = torch.randperm(len(digits_y))
train_idx, test_idx = order[:1300], order[1300:]

mlp = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.Adam(mlp.parameters(), lr=3e-3)
for step in range(400):
    batch = train_idx[torch.randint(0, len(train_idx), (128,))]
    loss = F.cross_entropy(mlp(digits_x[batch]), digits_y[batch])
    opt.zero_grad()
    loss.backward()
    opt.step()
PRUNABLE = (0, 2)  # the two hidden layers; the 10-way output layer stays dense


@torch.no_grad()
def accuracy(model):
    return (model(digits_x[test_idx]).argmax(-1) == digits_y[test_idx]).float().mean().item()


dense_acc = accuracy(mlp)
print(f"dense MLP: test accuracy {dense_acc:.1%} on {len(test_idx)} held-out digits")
assert dense_acc > 0.95


# %%
def smallest_to_zero(scores, k):
    """Boolean keep-mask with False at the k smallest scores (the same rule as torch.nn.utils.prune)."""
    keep = torch.ones_like(scores, dtype=torch.bool)
    if k > 0:
        keep.view(-1)[scores.flatten().topk(k, largest=False).indices] = False
    return keep


def unstructured_masks(weights, sparsity):
    return [smallest_to_zero(w.abs(), round(sparsity * w.numel())) for w in weights]


def global_masks(weights, sparsity):
    all_abs = torch.cat([w.abs().flatten() for w in weights])
    keep = smallest_to_zero(all_abs, round(sparsity * all_abs.numel()))
    return [m.view_as(w) for m, w in zip(keep.split([w.numel() for w in weights]), weights)]


def structured_masks(weights, sparsity):
    """Keep-masks that drop whole rows (neurons) with the smallest L2 norm."""
    masks = []
    for w in weights:
        keep_rows = smallest_to_zero(w.norm(dim=1), round(sparsity * w.shape[0]))
        masks.append(keep_rows[:, None].expand_as(w).clone())
    return masks


@torch.no_grad()
def apply_masks(model, masks):
    """A pruned copy; a row that is entirely pruned also loses its bias: the neuron is gone."""
    model = copy.deepcopy(model)
    for i, mask in zip(PRUNABLE, masks):
        model[i].weight *= mask
        model[i].bias *= mask.any(dim=1)
    return model


hidden_weights = [mlp[i].weight.detach() for i in PRUNABLE]

# %% [markdown] tags=["en"]
# **Same masks as PyTorch.** `torch.nn.utils.prune` adds a `weight_mask` buffer (1 = kept) to the module.

# %% [markdown] tags=["zh"]
# **与 PyTorch 的掩码一致。** `torch.nn.utils.prune` 会给模块添加一个 `weight_mask` 缓冲区（1 表示保留）。

# %%
def torch_masks(method, sparsity):
    """weight_mask of each hidden layer after pruning a copy of the MLP with torch.nn.utils.prune."""
    model = copy.deepcopy(mlp)
    layers = [model[i] for i in PRUNABLE]
    if method == "global":
        prune.global_unstructured([(layer, "weight") for layer in layers], prune.L1Unstructured, amount=sparsity)
    for layer in layers if method != "global" else []:
        if method == "unstructured":
            prune.l1_unstructured(layer, "weight", amount=sparsity)
        else:
            prune.ln_structured(layer, "weight", amount=sparsity, n=2, dim=0)
    return [layer.weight_mask.bool() for layer in layers]


MASK_FUNCTIONS = {"unstructured": unstructured_masks, "global": global_masks, "structured": structured_masks}
for sparsity in (0.3, 0.6, 0.9):
    for method, make_masks in MASK_FUNCTIONS.items():
        ours = make_masks(hidden_weights, sparsity)
        assert all(torch.equal(a, b) for a, b in zip(ours, torch_masks(method, sparsity))), (method, sparsity)
        kept = sum(m.sum().item() for m in ours) / sum(m.numel() for m in ours)
        assert abs((1 - kept) - sparsity) < 0.01  # the sparsity we asked for
print("unstructured, global and structured masks equal torch.nn.utils.prune's at sparsity 0.3, 0.6, 0.9")

# %% [markdown] tags=["en"]
# **Accuracy vs sparsity.** Pruning is one-shot here; fine-tuning after pruning would recover part of the
# loss, for every method.

# %% [markdown] tags=["zh"]
# **准确率随稀疏度的变化。** 这里只做一次性剪枝；剪枝后再微调，三种方法都能挽回一部分损失。

# %%
SPARSITIES = [0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95]
pruned_acc = {method: [accuracy(apply_masks(mlp, make(hidden_weights, s))) for s in SPARSITIES]
              for method, make in MASK_FUNCTIONS.items()}
print("sparsity     " + " ".join(f"{s:5.0%}" for s in SPARSITIES))
for method, accs in pruned_acc.items():
    print(f"{method:12} " + " ".join(f"{a:5.1%}" for a in accs))

at = {s: i for i, s in enumerate(SPARSITIES)}
for s in (0.5, 0.7):  # moderate sparsity: unstructured keeps accuracy, structured loses more
    assert pruned_acc["unstructured"][at[s]] > pruned_acc["structured"][at[s]] + 0.01, s
assert pruned_acc["unstructured"][at[0.5]] > dense_acc - 0.02

# %%
PRUNING_LABELS = {
    "en": {"x": "sparsity of the hidden layers (share of zeroed weights)", "y": "test accuracy",
           "unstructured": "unstructured, per layer", "global": "unstructured, global",
           "structured": "structured (whole neurons)", "dense": "dense"},
    "zh": {"x": "隐藏层稀疏度（被置零的权重比例）", "y": "测试准确率",
           "unstructured": "非结构化（逐层）", "global": "非结构化（全局）",
           "structured": "结构化（整个神经元）", "dense": "未剪枝"},
}


def draw_pruning(lang):
    labels = PRUNING_LABELS[lang]
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    for method, style in (("unstructured", "o-"), ("global", "^--"), ("structured", "s-")):
        ax.plot(SPARSITIES, pruned_acc[method], style, label=labels[method])
    ax.axhline(dense_acc, color="gray", linestyle=":", label=labels["dense"])
    ax.set(xlabel=labels["x"], ylabel=labels["y"], ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left")
    return fig


show(draw_pruning)

# %% [markdown] tags=["en"]
# Unstructured pruning removes only the least important individual weights and keeps accuracy much
# longer. Structured pruning takes out whole neurons, including some useful weights, and drops sooner.
# Its advantage is speed: the pruned network is simply a smaller dense network, which any hardware runs
# faster, whereas scattered zeros need sparse kernels or a pattern such as 2:4 to pay off. We check that by
# slicing the removed neurons out.

# %% [markdown] tags=["zh"]
# 非结构化剪枝只去掉最不重要的单个权重，准确率能保持得久得多。结构化剪枝整块去掉神经元，连带去掉一些有用的权重，
# 准确率下降得更早。它的好处在速度上：剪完就是一个更小的稠密网络，任何硬件上都能跑得更快；而零散的零元素需要稀疏计算内核
# 或 2:4 这样的固定模式才能真正提速。下面把被去掉的神经元切掉，验证这一点。

# %%
masks_50 = structured_masks(hidden_weights, 0.5)
pruned_50 = apply_masks(mlp, masks_50)
keep_1, keep_2 = (m.any(dim=1) for m in masks_50)  # surviving neurons of each hidden layer
n_1, n_2 = int(keep_1.sum()), int(keep_2.sum())
with torch.no_grad():
    smaller = nn.Sequential(nn.Linear(64, n_1), nn.ReLU(), nn.Linear(n_1, n_2), nn.ReLU(), nn.Linear(n_2, 10))
    smaller[0].weight.copy_(mlp[0].weight[keep_1])
    smaller[0].bias.copy_(mlp[0].bias[keep_1])
    smaller[2].weight.copy_(mlp[2].weight[keep_2][:, keep_1])
    smaller[2].bias.copy_(mlp[2].bias[keep_2])
    smaller[4].weight.copy_(mlp[4].weight[:, keep_2])
    smaller[4].bias.copy_(mlp[4].bias)
    torch.testing.assert_close(smaller(digits_x), pruned_50(digits_x))
n_dense, n_small = (sum(p.numel() for p in m.parameters()) for m in (mlp, smaller))
print(f"50% structured pruning = a dense 64-{n_1}-{n_2}-10 MLP with the same outputs: "
      f"{n_small:,} parameters instead of {n_dense:,}")

# %% [markdown] tags=["en"]
# ## Generation with a KV cache { #kv-cache }
#
# A decoder generates one token at a time. Without a cache, step $t$ runs the whole sequence of length
# $t$ through the model again, although the keys and values of the earlier positions do not change (the
# causal mask means that later tokens never affect them). A KV cache stores them per layer: after one pass
# over the prompt (the prefill), each step runs only the newest token and attends to the cached keys and
# values. That takes per-step work from $O(t)$ tokens to one token.
#
# The model is a small GPT with random weights (4 layers, $d_{\text{model}} = 64$, 4 heads, pre-norm
# blocks) built here, with the attention from the [attention notebook](attention.ipynb#causal-mask):
# the causal mask is aligned to the bottom right, so the last $n_q$ queries see all $n_k$ cached keys.
# It supports grouped-query attention: `n_kv_heads` key/value heads, each shared by
# `n_heads / n_kv_heads` query heads; the cache only stores the `n_kv_heads`.

# %% [markdown] tags=["zh"]
# ## 用 KV 缓存生成 { #kv-cache }
#
# 解码器每次生成一个 token。没有缓存时，第 $t$ 步要把长度为 $t$ 的整个序列重新过一遍模型，尽管前面各位置的键和值并没有变
# （因果掩码保证后来的 token 不会影响它们）。KV 缓存把每一层的键和值存下来：先对提示词做一遍前向计算（预填充，Prefill），
# 之后每一步只计算最新的那个 token，并对缓存中的键和值做注意力。每一步的计算量由此从 $O(t)$ 个 token 降到 1 个 token。
#
# 模型是在这里搭建的一个随机权重的小型 GPT（4 层，$d_{\text{model}} = 64$，4 个头，Pre-Norm 结构），注意力与
# [注意力 notebook](attention.ipynb#causal-mask) 中的相同：因果掩码按右下角对齐，最后 $n_q$ 个查询能看到全部 $n_k$ 个缓存的键。
# 模型支持分组查询注意力（Grouped-Query Attention，GQA）：有 `n_kv_heads` 个键/值头，每个被 `n_heads / n_kv_heads`
# 个查询头共享；缓存里只存这 `n_kv_heads` 个头。

# %%
def causal_attention(q, k, v):
    """softmax(q k^T / sqrt(d)) v with a bottom-right aligned causal mask (n_q <= n_k)."""
    n_q, n_k = q.size(-2), k.size(-2)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.size(-1))
    future = torch.ones(n_q, n_k, dtype=torch.bool).triu(n_k - n_q + 1)
    return torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1) @ v


class Block(nn.Module):
    """Pre-norm decoder block: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, d_model, n_heads, n_kv_heads):
        super().__init__()
        self.n_heads, self.n_kv_heads, self.head_dim = n_heads, n_kv_heads, d_model // n_heads
        self.ln_1, self.ln_2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.q_proj = nn.Linear(d_model, d_model, bias=False)
        self.kv_proj = nn.Linear(d_model, 2 * n_kv_heads * self.head_dim, bias=False)
        self.out_proj = nn.Linear(d_model, d_model, bias=False)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x, cache=None):
        """x: (B, T, d_model). cache: None, or a dict that receives this layer's keys and values."""
        b, t, d = x.shape
        h = self.ln_1(x)
        q = self.q_proj(h).view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k, v = self.kv_proj(h).view(b, t, 2, self.n_kv_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        if cache is not None:  # append the new positions to the cached ones: (B, n_kv_heads, T_total, head_dim)
            if "k" in cache:
                k, v = torch.cat([cache["k"], k], dim=2), torch.cat([cache["v"], v], dim=2)
            cache["k"], cache["v"] = k, v
        group = self.n_heads // self.n_kv_heads  # query heads per key/value head
        attn = causal_attention(q, k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1))
        x = x + self.out_proj(attn.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp(self.ln_2(x))


class TinyGPT(nn.Module):
    def __init__(self, vocab=256, d_model=64, n_layers=4, n_heads=4, n_kv_heads=4, max_len=512):
        super().__init__()
        self.tok_emb, self.pos_emb = nn.Embedding(vocab, d_model), nn.Embedding(max_len, d_model)
        self.blocks = nn.ModuleList(Block(d_model, n_heads, n_kv_heads) for _ in range(n_layers))
        self.ln_f, self.lm_head = nn.LayerNorm(d_model), nn.Linear(d_model, vocab, bias=False)

    def forward(self, tokens, caches=None):
        """Logits for every input position. With caches, `tokens` continue the cached sequence."""
        start = caches[0]["k"].size(2) if caches and "k" in caches[0] else 0  # positions already cached
        x = self.tok_emb(tokens) + self.pos_emb(torch.arange(start, start + tokens.size(1)))
        for i, block in enumerate(self.blocks):
            x = block(x, None if caches is None else caches[i])
        return self.lm_head(self.ln_f(x))


# %% [markdown] tags=["en"]
# Both generators are greedy and return the tokens, the logits of every step and the CPU time of every
# step. We time with `time.process_time()`: CPU seconds of this process, which other jobs sharing the
# machine do not inflate (with one thread it is the latency on an idle machine).

# %% [markdown] tags=["zh"]
# 两个生成函数都用贪心解码，返回生成的 token、每一步的 logits 和每一步的 CPU 耗时。计时用 `time.process_time()`：
# 它统计本进程占用的 CPU 时间，不会因为机器上的其他任务而变长（单线程时就等于机器空闲时的延迟）。

# %%
@torch.inference_mode()
def generate_without_cache(model, prompt, n_new):
    """Every step re-runs the whole sequence so far."""
    tokens, logits, times = prompt, [], []
    for _ in range(n_new):
        start = time.process_time()
        step_logits = model(tokens)[:, -1]
        tokens = torch.cat([tokens, step_logits.argmax(-1, keepdim=True)], dim=1)
        times.append(time.process_time() - start)
        logits.append(step_logits)
    return tokens, torch.stack(logits, 1), times


@torch.inference_mode()
def generate_with_cache(model, prompt, n_new):
    """Prefill the prompt once, then feed one token per step; returns the caches too."""
    caches = [{} for _ in model.blocks]
    tokens, logits, times = prompt, [], []
    next_input = prompt  # step 0 is the prefill
    for _ in range(n_new):
        start = time.process_time()
        step_logits = model(next_input, caches)[:, -1]
        next_input = step_logits.argmax(-1, keepdim=True)
        tokens = torch.cat([tokens, next_input], dim=1)
        times.append(time.process_time() - start)
        logits.append(step_logits)
    return tokens, torch.stack(logits, 1), times, caches


gpt = TinyGPT().eval()
PROMPT_LEN, N_NEW = 64, 192
prompt = torch.randint(0, 256, (1, PROMPT_LEN))
generate_with_cache(gpt, prompt, 4)  # warm-up: the first calls pay one-off costs
generate_without_cache(gpt, prompt, 4)

tokens_full, logits_full, times_full = generate_without_cache(gpt, prompt, N_NEW)
tokens_cached, logits_cached, times_cached, caches = generate_with_cache(gpt, prompt, N_NEW)

assert torch.equal(tokens_cached, tokens_full)
torch.testing.assert_close(logits_cached, logits_full, rtol=1e-4, atol=1e-4)
gap = (logits_cached - logits_full).abs().max().item()
print(f"{N_NEW} greedy tokens after a {PROMPT_LEN}-token prompt: identical tokens, max logit difference {gap:.1e}")

total_full, total_cached = sum(times_full), sum(times_cached)
print(f"without cache: {total_full:.2f} s CPU ({1000 * total_full / N_NEW:.1f} ms/token)")
print(f"with cache:    {total_cached:.2f} s CPU ({1000 * total_cached / N_NEW:.1f} ms/token), "
      f"{total_full / total_cached:.1f}x faster")
assert total_cached < 0.5 * total_full

# %%
KV_TIME_LABELS = {
    "en": {"x": "sequence length at this step", "y": "CPU time per generated token (ms)",
           "full": "without cache: re-run the whole sequence", "cached": "with KV cache: one new token"},
    "zh": {"x": "该步的序列长度", "y": "每个 token 的 CPU 耗时（毫秒）",
           "full": "无缓存：每步重算整个序列", "cached": "有 KV 缓存：每步只算一个新 token"},
}


def draw_kv_times(lang):
    labels = KV_TIME_LABELS[lang]
    fig, ax = plt.subplots(figsize=(6.5, 3.8), layout="constrained")
    lengths = range(PROMPT_LEN, PROMPT_LEN + N_NEW)
    ax.plot(lengths, [1000 * t for t in times_full], lw=1, label=labels["full"])
    ax.plot(lengths[1:], [1000 * t for t in times_cached[1:]], lw=1, label=labels["cached"])  # [0] = prefill
    ax.set(xlabel=labels["x"], ylabel=labels["y"], ylim=(0, None))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    return fig


show(draw_kv_times)

# %% [markdown] tags=["en"]
# Without the cache the cost of a step grows with the sequence length (and the whole generation
# quadratically); with it the cost per token stays nearly flat. The attention over the cache still grows
# linearly with $t$, but at this size the matrix products over the new token dominate. Production engines
# preallocate or page the cache ([PagedAttention](../efficiency.md#inference-optimization)) instead of
# concatenating at every step as we do.

# %% [markdown] tags=["zh"]
# 没有缓存时，每一步的开销随序列长度增长（整个生成过程的开销按平方增长）；有了缓存，每个 token 的开销几乎不变。
# 对缓存做注意力的开销仍随 $t$ 线性增长，但在这个规模下，新 token 经过各层矩阵乘法的开销占主导。
# 生产环境的推理引擎会预先分配或分页管理缓存（[PagedAttention](../efficiency.md#inference-optimization)），
# 而不是像这里一样每步都做拼接。

# %% [markdown] tags=["en"]
# ## How much memory the cache takes { #kv-cache-memory }
#
# Each layer stores a key and a value vector per KV head for every position of every sequence in the
# batch:
#
# $$
# \text{KV-cache bytes} = 2 \times n_{\text{layers}} \times n_{\text{kv heads}} \times d_{\text{head}}
# \times \text{seq} \times \text{batch} \times \text{bytes per element}.
# $$
#
# We check the formula against the cache tensors themselves (`numel() * element_size()`): for the float32
# cache above, and for a grouped-query variant (8 query heads sharing 2 KV heads) run in bfloat16 on a
# batch of 3 sequences.

# %% [markdown] tags=["zh"]
# ## KV 缓存占多少内存 { #kv-cache-memory }
#
# 每一层要为批次中每条序列的每个位置、每个 KV 头各存一个键向量和一个值向量：
#
# $$
# \text{KV-cache bytes} = 2 \times n_{\text{layers}} \times n_{\text{kv heads}} \times d_{\text{head}}
# \times \text{seq} \times \text{batch} \times \text{bytes per element}.
# $$
#
# 我们用缓存张量本身（`numel() * element_size()`）来核对这个公式：一是上面 float32 的缓存，二是一个分组查询注意力的变体
# （8 个查询头共享 2 个 KV 头），用 bfloat16 在 3 条序列组成的批次上运行。

# %%
def kv_cache_bytes(n_layers, n_kv_heads, head_dim, seq_len, batch, bytes_per_element):
    return 2 * n_layers * n_kv_heads * head_dim * seq_len * batch * bytes_per_element


def measured_cache_bytes(caches):
    return sum(t.numel() * t.element_size() for cache in caches for t in (cache["k"], cache["v"]))


# the last generated token is never fed back, so the cache holds prompt + n_new - 1 positions
seq_cached = PROMPT_LEN + N_NEW - 1
assert caches[0]["k"].shape == (1, 4, seq_cached, 16)
formula = kv_cache_bytes(n_layers=4, n_kv_heads=4, head_dim=16, seq_len=seq_cached, batch=1, bytes_per_element=4)
assert measured_cache_bytes(caches) == formula
print(f"MHA, float32:  formula {formula:,} bytes = measured {measured_cache_bytes(caches):,}")

gqa = TinyGPT(d_model=128, n_heads=8, n_kv_heads=2).to(torch.bfloat16).eval()
_, _, _, gqa_caches = generate_with_cache(gqa, torch.randint(0, 256, (3, 20)), 11)
assert gqa_caches[0]["k"].dtype == torch.bfloat16 and gqa_caches[0]["k"].shape == (3, 2, 30, 16)
formula_gqa = kv_cache_bytes(n_layers=4, n_kv_heads=2, head_dim=16, seq_len=30, batch=3, bytes_per_element=2)
assert measured_cache_bytes(gqa_caches) == formula_gqa
print(f"GQA, bfloat16: formula {formula_gqa:,} bytes = measured {measured_cache_bytes(gqa_caches):,} "
      f"(4x less than 8 KV heads would need)")

# %% [markdown] tags=["en"]
# **Worked example.** LLaMA-2-7B has 32 layers and 32 heads of dimension 128, with no grouped-query
# attention; LLaMA-2-70B has 80 layers and 8 KV heads of dimension 128 (*Llama 2: Open Foundation and
# Fine-Tuned Chat Models*, Touvron et al., 2023). In FP16, one sequence of 4096 tokens needs:

# %% [markdown] tags=["zh"]
# **算例。** LLaMA-2-7B 有 32 层、32 个维度为 128 的头，不使用分组查询注意力；LLaMA-2-70B 有 80 层、8 个维度为 128
# 的 KV 头（*Llama 2: Open Foundation and Fine-Tuned Chat Models*，Touvron 等，2023）。在 FP16 下，一条 4096 个 token
# 的序列需要：

# %%
GiB = 2**30
llama2_7b = kv_cache_bytes(n_layers=32, n_kv_heads=32, head_dim=128, seq_len=4096, batch=1, bytes_per_element=2)
llama2_70b = kv_cache_bytes(n_layers=80, n_kv_heads=8, head_dim=128, seq_len=4096, batch=1, bytes_per_element=2)
per_token_7b = llama2_7b // 4096
print(f"LLaMA-2-7B:  2 x 32 x 32 x 128 x 4096 x 1 x 2 bytes = {llama2_7b:,} bytes = {llama2_7b / GiB:g} GiB "
      f"({per_token_7b // 1024} KiB per token)")
print(f"LLaMA-2-70B: 2 x 80 x  8 x 128 x 4096 x 1 x 2 bytes = {llama2_70b:,} bytes = {llama2_70b / GiB:g} GiB "
      f"(GQA: {llama2_70b / llama2_7b:.3g}x the 7B cache for a 10x larger model)")
print(f"LLaMA-2-7B, batch 32: {32 * llama2_7b / GiB:g} GiB of cache, about 5x the ~13.5 GB of FP16 weights")
assert llama2_7b == 2 * GiB and per_token_7b == 512 * 1024
assert llama2_70b == 1.25 * GiB

# %% [markdown] tags=["en"]
# ## Takeaways { #takeaways }
#
# - Absmax INT8 uses $s = \max|x|/127$ and keeps 0 exact; zero-point INT8 spreads $[\min, \max]$ over all
#   256 codes and wins on lopsided data. Either way the round-trip error is at most $s/2$.
# - One scale per tensor is ruined by one outlier channel; per-channel scales cut the error by orders of
#   magnitude here.
# - At the same sparsity, unstructured magnitude pruning keeps accuracy far better than removing whole
#   neurons, but only structured pruning yields a smaller dense network that is faster everywhere.
# - A KV cache gives the same tokens as recomputation at a nearly constant cost per token. Its size is
#   $2 \cdot n_{\text{layers}} \cdot n_{\text{kv heads}} \cdot d_{\text{head}} \cdot \text{seq} \cdot \text{batch} \cdot \text{bytes}$:
#   2 GiB for one 4096-token sequence on LLaMA-2-7B in FP16.
#
# Back to the questions: [quantization](../efficiency.md#quantization) ·
# [pruning](../efficiency.md#pruning) ·
# [unstructured vs structured pruning](../efficiency.md#structured-vs-unstructured-pruning) ·
# [KV cache](../efficiency.md#kv-cache) · [inference optimization](../efficiency.md#inference-optimization) ·
# [attention mechanism](../fundamentals.md#attention-mechanism).

# %% [markdown] tags=["zh"]
# ## 小结 { #takeaways }
#
# - absmax INT8 取 $s = \max|x|/127$，能精确表示 0；零点 INT8 把 $[\min, \max]$ 铺满全部 256 个编码，数据偏向一侧时更准。
#   两种方法的往返误差都不超过 $s/2$。
# - 整个张量共用一个缩放系数时，一个离群通道就足以毁掉精度；这里改用逐通道缩放后，误差降低了几个数量级。
# - 在相同稀疏度下，非结构化的按大小剪枝比整块去掉神经元更能保持准确率，但只有结构化剪枝能得到一个在任何硬件上都更快的小型稠密网络。
# - KV 缓存生成的 token 与重新计算完全相同，而每个 token 的开销几乎不变。缓存大小为
#   $2 \cdot n_{\text{layers}} \cdot n_{\text{kv heads}} \cdot d_{\text{head}} \cdot \text{seq} \cdot \text{batch} \cdot \text{bytes}$：
#   LLaMA-2-7B 在 FP16 下一条 4096 个 token 的序列需要 2 GiB。
#
# 回到问答页：[量化](../efficiency.md#quantization) · [剪枝](../efficiency.md#pruning) ·
# [非结构化与结构化剪枝](../efficiency.md#structured-vs-unstructured-pruning) · [KV 缓存](../efficiency.md#kv-cache) ·
# [推理优化](../efficiency.md#inference-optimization) · [注意力机制](../fundamentals.md#attention-mechanism)。
