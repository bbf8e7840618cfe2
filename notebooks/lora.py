# %% [markdown] tags=["en"]
# # LoRA and QLoRA from scratch
#
# This notebook wraps a frozen `nn.Linear` in a LoRA adapter, fine-tunes a small pre-trained network on a
# related task with full fine-tuning and with LoRA, merges the adapter back into the weights and sweeps
# the rank. It then builds the 4-bit NormalFloat (NF4) data type of QLoRA, quantizes weights in blocks of
# 64 and compares the error with uniform INT4, and works out what double quantization saves. It
# illustrates the answers on [how LoRA works](../fine-tuning-alignment.md#lora),
# [QLoRA](../fine-tuning-alignment.md#qlora) and [PEFT methods](../fine-tuning-alignment.md#peft-methods).
# Every check is an `assert`, so a wrong implementation fails the build.

# %% [markdown] tags=["zh"]
# # 从零实现 LoRA 与 QLoRA
#
# 本 notebook 给冻结的 `nn.Linear` 套上 LoRA 适配器（Adapter），在一个小型预训练网络上分别用全量微调和 LoRA
# 适配相关的新任务，再把适配器合并回权重，并扫描不同的秩。随后构造 QLoRA 的 4 位 NormalFloat（NF4）数据类型，
# 以 64 个权重为一块做分块量化，与均匀 INT4 比较误差，最后算出双重量化（Double Quantization）能省多少内存。
# 对应问答页中的 [LoRA 原理](../fine-tuning-alignment.md#lora)、[QLoRA](../fine-tuning-alignment.md#qlora)
# 和 [PEFT 方法对比](../fine-tuning-alignment.md#peft-methods)。每项校验都是一条 `assert`，实现有误时构建会直接失败。

# %%
import copy
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from _figures import show
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)  # the matrices are tiny: one thread is as fast and does not fight other jobs


# %% [markdown] tags=["en"]
# ## A LoRA layer { #lora-layer }
#
# LoRA keeps the pre-trained weight $W_0 \in \mathbb{R}^{d\times k}$ (output size $d$, input size $k$)
# frozen and learns a low-rank update:
#
# $$
# h = W_0 x + b + \frac{\alpha}{r}\,BAx,\qquad A \in \mathbb{R}^{r\times k},\; B \in \mathbb{R}^{d\times r},\; r \ll \min(d, k).
# $$
#
# $A$ starts random (Gaussian, as in the paper; the scale $1/\sqrt{k}$ is our choice) and $B$ starts at
# zero, so $BA = 0$ and the layer computes exactly the pre-trained function at step 0. The adapter is
# applied as $B(Ax)$: two thin products that cost $r(d+k)$ multiply-adds per token instead of $dk$.
# `merged()` returns a plain `nn.Linear` with $W' = W_0 + \frac{\alpha}{r}BA$.

# %% [markdown] tags=["zh"]
# ## LoRA 层 { #lora-layer }
#
# LoRA（Low-Rank Adaptation）冻结预训练权重 $W_0 \in \mathbb{R}^{d\times k}$（输出维度 $d$，输入维度 $k$），
# 只学习一个低秩的增量：
#
# $$
# h = W_0 x + b + \frac{\alpha}{r}\,BAx,\qquad A \in \mathbb{R}^{r\times k},\; B \in \mathbb{R}^{d\times r},\; r \ll \min(d, k).
# $$
#
# $A$ 随机初始化（与论文一样用高斯分布，尺度 $1/\sqrt{k}$ 是这里的选择），$B$ 初始化为零，因此第 0 步时 $BA = 0$，
# 这一层的计算与预训练模型完全相同。适配器按 $B(Ax)$ 的顺序计算：两次细长的矩阵乘法，每个 token 只需
# $r(d+k)$ 次乘加，而不是 $dk$ 次。`merged()` 返回一个普通的 `nn.Linear`，其权重为 $W' = W_0 + \frac{\alpha}{r}BA$。

# %%
class LoRALinear(nn.Module):
    """h = W0 x + b + (alpha / r) * B A x, with the wrapped nn.Linear (W0, b) frozen."""

    def __init__(self, base: nn.Linear, r: int, alpha: float):
        super().__init__()
        self.base = base.requires_grad_(False)
        d, k = base.out_features, base.in_features
        self.A = nn.Parameter(torch.randn(r, k) / math.sqrt(k))  # random: gives B a gradient from step 0
        self.B = nn.Parameter(torch.zeros(d, r))  # zero: the update BA starts at 0
        self.scale = alpha / r

    def delta_weight(self) -> torch.Tensor:
        """The full-size update (alpha / r) B A, of rank at most r."""
        return self.scale * self.B @ self.A

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.base(x) + self.scale * (x @ self.A.T) @ self.B.T  # B(Ax): never forms the d x k matrix

    @torch.no_grad()
    def merged(self) -> nn.Linear:
        """A plain nn.Linear with W' = W0 + (alpha / r) B A: no extra cost at inference."""
        merged = copy.deepcopy(self.base)
        merged.weight += self.delta_weight()
        return merged


def n_trainable(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# %% [markdown] tags=["en"]
# **At initialization the adapter changes nothing**, bit for bit. And only $A$ and $B$ are trainable:
# $r(d+k)$ parameters instead of the $dk$ of the weight matrix (the frozen bias adds $d$ to neither).

# %% [markdown] tags=["zh"]
# **初始化时适配器不改变任何输出**，逐位相同。可训练的只有 $A$ 和 $B$：共 $r(d+k)$ 个参数，
# 而不是权重矩阵的 $dk$ 个（冻结的偏置 $d$ 个参数不计入两者）。

# %%
for d, k, r in [(32, 48, 4), (256, 16, 8), (4, 256, 2), (512, 512, 16)]:
    layer = LoRALinear(nn.Linear(k, d), r=r, alpha=8)
    x = torch.randn(10, k)
    torch.testing.assert_close(layer(x), layer.base(x), rtol=0, atol=0)
    assert n_trainable(layer) == r * (d + k), (d, k, r, n_trainable(layer))
    assert n_trainable(layer.base) == 0
    print(f"d={d:3}, k={k:3}, r={r:2}: output = base output; trainable {n_trainable(layer):5} = r(d+k), "
          f"full matrix {d * k:6} ({n_trainable(layer) / (d * k):.1%})")

d = k = 4096  # one attention projection of a 7B model
print(f"d=k=4096, r=8: r(d+k) = {8 * (d + k):,} instead of dk = {d * k:,} ({8 * (d + k) / (d * k):.2%})")

# %% [markdown] tags=["en"]
# ## A pre-trained model and a related task { #toy-task }
#
# We need a "pre-trained" network and a new task that is related to the old one. Both tasks are
# regression problems generated by a fixed two-layer teacher $f(x) = W_2 \tanh(W_1 x)$ on 16-dimensional
# Gaussian inputs:
#
# - **task A** (pre-training, 4000 examples) uses the teacher as it is;
# - **task B** (fine-tuning, only 300 examples) uses $W_1 + \Delta$ with $\Delta$ of **rank 2**: the
#   teacher reads its inputs along two new directions.
#
# The toy is built so that the task shift is low-rank, which is exactly LoRA's hypothesis (the update
# needed for adaptation has a low "intrinsic rank", Hu et al., 2021). Real tasks satisfy it only
# approximately. The student is a wider MLP, $16 \to 256 \to 256 \to 4$, trained with Adam on
# mini-batches. The metric is the relative error $\text{MSE}/\operatorname{Var}(y)$: predicting the mean
# scores 1, a perfect model 0.

# %% [markdown] tags=["zh"]
# ## 预训练模型与相关任务 { #toy-task }
#
# 我们需要一个「预训练」网络，以及一个与原任务相关的新任务。两个任务都是回归问题，由一个固定的两层教师网络
# $f(x) = W_2 \tanh(W_1 x)$ 在 16 维高斯输入上生成：
#
# - **任务 A**（预训练，4000 个样本）直接使用教师网络；
# - **任务 B**（微调，只有 300 个样本）把 $W_1$ 换成 $W_1 + \Delta$，其中 $\Delta$ 的**秩为 2**：教师沿两个新方向读取输入。
#
# 这个玩具任务特意让任务之间的差异是低秩的，这正是 LoRA 的假设：适配所需的更新具有较低的「内在秩」（Intrinsic Rank，
# Hu 等，2021）。真实任务只是近似满足这一点。学生网络是更宽的 MLP（$16 \to 256 \to 256 \to 4$），用 Adam 做小批量训练。
# 评价指标是相对误差 $\text{MSE}/\operatorname{Var}(y)$：总是预测均值得 1，完美模型得 0。

# %%
D_IN, D_TEACHER, D_OUT, RANK_SHIFT, HIDDEN = 16, 32, 4, 2, 256
W1_TEACHER = torch.randn(D_TEACHER, D_IN) / math.sqrt(D_IN)
W2_TEACHER = 2 * torch.randn(D_OUT, D_TEACHER) / math.sqrt(D_TEACHER)
SHIFT = 0.7 * torch.randn(D_TEACHER, RANK_SHIFT) @ torch.randn(RANK_SHIFT, D_IN) / math.sqrt(D_IN)
assert torch.linalg.matrix_rank(SHIFT) == RANK_SHIFT


def make_task(n, w1):
    """n Gaussian inputs and the teacher's outputs with first-layer weight w1."""
    x = torch.randn(n, D_IN)
    return x, torch.tanh(x @ w1.T) @ W2_TEACHER.T


def make_student():
    return nn.Sequential(nn.Linear(D_IN, HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, HIDDEN), nn.Tanh(),
                         nn.Linear(HIDDEN, D_OUT))


def train(model, x, y, steps, lr, batch_size=64):
    """Adam on random mini-batches, only on the parameters that require gradients."""
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    batches = torch.Generator().manual_seed(1)  # every run sees the same batches
    for _ in range(steps):
        idx = torch.randint(0, len(x), (batch_size,), generator=batches)
        loss = F.mse_loss(model(x[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@torch.no_grad()
def rel_error(model, x, y):
    """MSE / Var(y): 1 for predicting the mean, 0 for a perfect fit."""
    return (F.mse_loss(model(x), y) / y.var()).item()


task_a_train, task_a_test = make_task(4000, W1_TEACHER), make_task(2000, W1_TEACHER)
task_b_train, task_b_test = make_task(300, W1_TEACHER + SHIFT), make_task(2000, W1_TEACHER + SHIFT)

pretrained = train(make_student(), *task_a_train, steps=700, lr=3e-3, batch_size=128)
base_a, base_b = rel_error(pretrained, *task_a_test), rel_error(pretrained, *task_b_test)
print(f"pre-trained model: relative error {base_a:.4f} on task A, {base_b:.3f} on task B (zero-shot)")
assert base_a < 0.02 and base_b > 0.2

# %% [markdown] tags=["en"]
# ## Full fine-tuning vs LoRA { #lora-vs-full }
#
# Both start from the pre-trained weights and take 300 steps on the 300 examples of task B.
#
# - **Full fine-tuning** trains all parameters. To give it a fair chance we try two learning rates and
#   keep the best test result (choosing on the test set favors it).
# - **LoRA** freezes everything and adds adapters with $r = 4$, $\alpha = 8$ to all three linear layers,
#   with a learning rate of $10^{-2}$ (LoRA usually wants a higher learning rate than full fine-tuning).
#
# As a reference, the same network trained from scratch on the 300 examples shows what pre-training is worth.

# %% [markdown] tags=["zh"]
# ## 全量微调与 LoRA 对比 { #lora-vs-full }
#
# 两者都从预训练权重出发，在任务 B 的 300 个样本上训练 300 步。
#
# - **全量微调**（Full Fine-Tuning）训练所有参数。为了公平起见，我们试两个学习率，取测试集上最好的结果（在测试集上挑选对它有利）。
# - **LoRA** 冻结全部原有参数，给三个线性层都加上 $r = 4$、$\alpha = 8$ 的适配器，学习率取 $10^{-2}$
#   （LoRA 通常需要比全量微调更高的学习率）。
#
# 另外在这 300 个样本上从零训练同样的网络作为参照，看看预训练带来了多少收益。

# %%
STEPS_B, LORA_RANK, LORA_ALPHA, LORA_LR = 300, 4, 8, 1e-2


def add_lora(model, r, alpha=LORA_ALPHA):
    """A copy of the model with every nn.Linear wrapped in a LoRALinear (so all else is frozen)."""
    model = copy.deepcopy(model).requires_grad_(False)
    for i, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            model[i] = LoRALinear(layer, r, alpha)
    return model


full_ft = {lr: train(copy.deepcopy(pretrained), *task_b_train, STEPS_B, lr) for lr in (1e-3, 3e-3)}
full_err = {lr: rel_error(m, *task_b_test) for lr, m in full_ft.items()}
best_lr = min(full_err, key=full_err.get)
scratch_err = rel_error(train(make_student(), *task_b_train, STEPS_B, 3e-3), *task_b_test)
lora_model = train(add_lora(pretrained, LORA_RANK), *task_b_train, STEPS_B, LORA_LR)
lora_err = rel_error(lora_model, *task_b_test)

n_full, n_lora = n_trainable(pretrained), n_trainable(lora_model)
expected_lora = sum(LORA_RANK * (m.in_features + m.out_features) for m in pretrained if isinstance(m, nn.Linear))
assert n_lora == expected_lora

def report(name, test, trainable, train=None):
    train = "" if train is None else f"{train:.4f}"
    print(f"  {name:30} {train:>8} {test:8.4f}  {trainable:>14}")


print(f"relative error on task B {'':7} {'train':>8} {'test':>8}  {'trainable':>14}")
report("zero-shot (pre-trained)", base_b, "")
report("trained from scratch", scratch_err, f"{n_full:,}")
for lr, err in full_err.items():
    report(f"full fine-tuning, lr={lr:.0e}", err, f"{n_full:,}", rel_error(full_ft[lr], *task_b_train))
report(f"LoRA r={LORA_RANK}, lr={LORA_LR:.0e}", lora_err, f"{n_lora:,} ({n_lora / n_full:.1%})",
       rel_error(lora_model, *task_b_train))

# %%
assert n_lora < 0.1 * n_full  # far fewer trainable parameters ...
assert lora_err < 1.5 * full_err[best_lr]  # ... and close to (here: better than) the best full fine-tuning
assert lora_err < base_b / 10 and lora_err < scratch_err / 2  # and it really learned task B
print(f"LoRA trains {n_lora / n_full:.1%} of the parameters and reaches {lora_err / full_err[best_lr]:.2f}x "
      f"the error of the best full fine-tuning")

# %% [markdown] tags=["en"]
# With only 300 examples, full fine-tuning can move all 71k parameters and overfits: its training error is
# far below its test error. LoRA can only make a low-rank change, which here is the right kind of change. On large, very different tasks the
# comparison can go the other way (see the limits in [how LoRA works](../fine-tuning-alignment.md#lora)).

# %% [markdown] tags=["zh"]
# 只有 300 个样本时，全量微调可以改动全部 7 万多个参数，于是出现过拟合：训练误差远低于测试误差。LoRA 只能做低秩的改动，
# 而在这里这恰好是需要的那种改动。如果任务数据量大、与预训练差异也大，结论可能相反（见 [LoRA 原理](../fine-tuning-alignment.md#lora)
# 中关于局限性的部分）。

# %% [markdown] tags=["en"]
# ## Merging the adapter { #merge }
#
# After training, each adapter folds into its layer: $W' = W_0 + \frac{\alpha}{r}BA$. The merged network is
# an ordinary MLP with exactly the pre-trained parameter count, so inference costs nothing extra. Merging is
# exact up to float rounding; unmerging (subtracting the same product) recovers $W_0$.

# %% [markdown] tags=["zh"]
# ## 合并适配器 { #merge }
#
# 训练结束后，每个适配器都可以折叠进所在的层：$W' = W_0 + \frac{\alpha}{r}BA$。合并后的网络就是一个普通 MLP，
# 参数量与预训练模型完全相同，推理没有任何额外开销。合并只有浮点舍入误差；反向合并（减去同一个乘积）即可恢复 $W_0$。

# %%
merged_model = nn.Sequential(*(m.merged() if isinstance(m, LoRALinear) else m for m in lora_model))
x_b = task_b_test[0]
with torch.no_grad():
    for lora_layer, merged_layer in zip(lora_model, merged_model):
        if isinstance(lora_layer, LoRALinear):
            h = torch.randn(64, lora_layer.base.in_features)
            torch.testing.assert_close(merged_layer(h), lora_layer(h))  # layer by layer
            assert torch.linalg.matrix_rank(lora_layer.delta_weight()) <= LORA_RANK
            torch.testing.assert_close(merged_layer.weight - lora_layer.delta_weight(), lora_layer.base.weight)
    torch.testing.assert_close(merged_model(x_b), lora_model(x_b))  # and the whole network
    gap = (merged_model(x_b) - lora_model(x_b)).abs().max().item()

n_merged = sum(p.numel() for p in merged_model.parameters())
assert n_merged == sum(p.numel() for p in pretrained.parameters())
assert all(type(m) in (nn.Linear, nn.Tanh) for m in merged_model)
print(f"merged model: plain nn.Linear layers, {n_merged:,} parameters (as pre-trained); "
      f"max output difference {gap:.1e}; each update has rank <= {LORA_RANK}; unmerging recovers W0")

# %% [markdown] tags=["en"]
# ## Does the rank matter? { #rank-sweep }
#
# We repeat the LoRA run for $r \in \{1, 2, 4, 8, 16\}$ with $\alpha = 8$ fixed, so the scale $\alpha/r$
# shrinks as $r$ grows (Hu et al. also fixed $\alpha$ and did not tune it).

# %% [markdown] tags=["zh"]
# ## 秩重要吗？ { #rank-sweep }
#
# 我们对 $r \in \{1, 2, 4, 8, 16\}$ 重复 LoRA 训练，固定 $\alpha = 8$，因此 $r$ 越大，缩放系数 $\alpha/r$
# 越小（Hu 等人同样固定 $\alpha$，不对它调参）。

# %%
RANKS = [1, 2, 4, 8, 16]
sweep_err, sweep_params = {}, {}
for r in RANKS:
    model = lora_model if r == LORA_RANK else train(add_lora(pretrained, r), *task_b_train, STEPS_B, LORA_LR)
    sweep_err[r], sweep_params[r] = rel_error(model, *task_b_test), n_trainable(model)
    print(f"r={r:2}: relative error {sweep_err[r]:.4f}, {sweep_params[r]:5,} trainable ({sweep_params[r] / n_full:.1%})")

assert all(sweep_params[r] == r * sweep_params[1] for r in RANKS)  # linear in r
assert sweep_err[1] > 1.5 * min(sweep_err[r] for r in RANKS[1:])  # rank 1 cannot express a rank-2 shift
print(f"rank 1 is {sweep_err[1] / sweep_err[2]:.1f}x worse than rank 2")

# %%
RANK_LABELS = {
    "en": {"x": "LoRA rank $r$", "y": r"relative error on task B, $\mathrm{MSE}/\mathrm{Var}(y)$",
           "lora": "LoRA", "full": "full fine-tuning (best lr)", "zero": "zero-shot (pre-trained)",
           "params": "trainable"},
    "zh": {"x": "LoRA 的秩 $r$", "y": r"任务 B 上的相对误差 $\mathrm{MSE}/\mathrm{Var}(y)$",
           "lora": "LoRA", "full": "全量微调（最佳学习率）", "zero": "零样本（预训练模型）",
           "params": "可训练"},
}


def draw_rank_sweep(lang):
    labels = RANK_LABELS[lang]
    fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    ax.plot(RANKS, [sweep_err[r] for r in RANKS], "o-", label=labels["lora"])
    for r in RANKS:
        ax.annotate(f"{sweep_params[r]:,}", (r, sweep_err[r]), textcoords="offset points", xytext=(0, 8),
                    ha="center", fontsize=8)
    ax.axhline(full_err[best_lr], color="C1", linestyle="--",
               label=f"{labels['full']}: {n_full:,} {labels['params']}")
    ax.axhline(base_b, color="gray", linestyle=":", label=labels["zero"])
    ax.set(xscale="log", yscale="log", xlabel=labels["x"], ylabel=labels["y"])
    ax.set_xticks(RANKS, [str(r) for r in RANKS])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend(loc="center right")
    return fig


show(draw_rank_sweep)

# %% [markdown] tags=["en"]
# The numbers above each point are the trainable parameters. Rank 1 cannot represent the rank-2 shift and
# stays clearly worse; from $r = 2$ on, LoRA matches or beats full fine-tuning, and higher ranks buy little.
# On real models the useful rank is found the same way, by a small sweep on validation data.

# %% [markdown] tags=["zh"]
# 每个点上方的数字是可训练参数量。秩为 1 时无法表示秩为 2 的任务差异，误差明显更大；从 $r = 2$ 起，LoRA
# 已追平甚至超过全量微调，再增大秩收益很小。在真实模型上，合适的秩也是这样在验证集上做小范围扫描来确定的。

# %% [markdown] tags=["en"]
# ## NF4: 16 levels at normal quantiles { #nf4 }
#
# QLoRA stores the frozen base weights in 4 bits (*QLoRA: Efficient Finetuning of Quantized LLMs*,
# Dettmers et al., 2023). Pre-trained weights are roughly normal, so NF4 places its $2^4 = 16$ levels at
# quantiles of the standard normal $\Phi^{-1}$, so that for normal data each level covers about the same
# share of the weights. The paper also wants an exact zero (zero padding, and weights that are exactly 0),
# which an even number of symmetric quantiles cannot give. So the construction is asymmetric, as in the reference implementation
# (bitsandbytes' `create_normal_map`):
#
# - 8 positive levels $\Phi^{-1}(p_i)$ for 8 of the 9 evenly spaced probabilities $p_i$ from $\delta$
#   down to $0.5$ (dropping $p = 0.5$, whose quantile is 0);
# - 7 negative levels $-\Phi^{-1}(p_j)$ for 7 of the 8 evenly spaced $p_j$ from $\delta$ down to $0.5$;
# - the level 0; then all 16 are divided by the largest, so they span $[-1, 1]$.
#
# $\delta \approx 0.9677$ keeps the outermost quantile finite ($\Phi^{-1}(1) = \infty$). We compute the
# levels with `torch.special.ndtri` ($\Phi^{-1}$) and compare them with the table published in the paper's
# appendix.

# %% [markdown] tags=["zh"]
# ## NF4：位于正态分位点上的 16 个量化级 { #nf4 }
#
# QLoRA 把冻结的基座权重存成 4 位（*QLoRA: Efficient Finetuning of Quantized LLMs*，Dettmers 等，2023）。
# 预训练权重近似服从正态分布，所以 NF4（4-bit NormalFloat）把 $2^4 = 16$ 个量化级放在标准正态分布的分位点
# $\Phi^{-1}$ 上，使正态分布的数据大致均匀地落在各个量化级上。论文还要求能精确表示 0（用于零填充，以及恰好为 0 的权重），
# 而偶数个对称分位点做不到这一点。因此构造是不对称的，与参考实现（bitsandbytes 的 `create_normal_map`）一致：
#
# - 8 个正的量化级 $\Phi^{-1}(p_i)$，$p_i$ 取从 $\delta$ 到 $0.5$ 等间距的 9 个概率中的前 8 个（去掉分位数为 0 的 $p = 0.5$）；
# - 7 个负的量化级 $-\Phi^{-1}(p_j)$，$p_j$ 取从 $\delta$ 到 $0.5$ 等间距的 8 个概率中的前 7 个；
# - 再加上 0；最后把 16 个值都除以其中的最大值，使它们落在 $[-1, 1]$ 内。
#
# $\delta \approx 0.9677$ 保证最外侧的分位数有限（$\Phi^{-1}(1) = \infty$）。下面用 `torch.special.ndtri`（即 $\Phi^{-1}$）
# 计算这些量化级，并与论文附录中给出的数值表对比。

# %%
NF4_OFFSET = 0.9677083  # delta, as in bitsandbytes


def nf4_levels(offset=NF4_OFFSET):
    """The 16 NF4 values: 8 positive and 7 negative normal quantiles, an exact 0, scaled to [-1, 1]."""
    positive = torch.special.ndtri(torch.linspace(offset, 0.5, 9, dtype=torch.float64)[:-1])
    negative = -torch.special.ndtri(torch.linspace(offset, 0.5, 8, dtype=torch.float64)[:-1])
    levels = torch.cat([negative, torch.zeros(1, dtype=torch.float64), positive]).sort().values
    return (levels / levels.max()).float()


NF4 = nf4_levels()
NF4_PAPER = torch.tensor([  # the values listed in the QLoRA paper's appendix
    -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
    -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
    0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941,
    0.7229568362236023, 1.0])
torch.testing.assert_close(NF4, NF4_PAPER, rtol=0, atol=1e-6)
print("NF4 levels match the paper's table:", " ".join(f"{v:+.4f}" for v in NF4.tolist()))

assert len(NF4.unique()) == 16 and (NF4.diff() > 0).all()
assert NF4[7] == 0 and NF4.min() == -1 and NF4.max() == 1  # exact zero, both ends at +-1
assert (NF4 < 0).sum() == 7 and (NF4 > 0).sum() == 8  # one more level on the positive side
assert not torch.allclose(NF4[1:7], -NF4[9:15].flip(0))  # so the levels are not mirror images
print("exact 0; ends at -1 and +1; 7 negative and 8 positive levels (not mirror-symmetric)")

# %% [markdown] tags=["en"]
# ## Blockwise quantization: NF4 vs INT4 { #nf4-vs-int4 }
#
# One outlier would stretch a single scale over the whole tensor, so QLoRA quantizes in blocks of 64
# weights, each with its own absmax constant $c = \max_i |w_i|$. Each weight is normalized to
# $w/c \in [-1, 1]$ and stored as the 4-bit index of the nearest level; dequantization is
# $\hat w = c \cdot \text{level}[\text{index}]$. Uniform INT4 does the same with the evenly spaced levels
# $\{-7, \dots, 7\}/7$, the usual symmetric absmax grid.
#
# We quantize $2^{18}$ standard-normal weights (a stand-in for a pre-trained matrix) both ways, and also
# pack two 4-bit indices into each byte, as a real kernel stores them.

# %% [markdown] tags=["zh"]
# ## 分块量化：NF4 与 INT4 对比 { #nf4-vs-int4 }
#
# 如果整个张量共用一个缩放系数，一个离群值就会把它撑大，所以 QLoRA 以 64 个权重为一块做量化，每块有自己的
# absmax 常数 $c = \max_i |w_i|$。每个权重先归一化为 $w/c \in [-1, 1]$，再存成最近量化级的 4 位下标；
# 反量化为 $\hat w = c \cdot \text{level}[\text{index}]$。均匀 INT4 的做法相同，只是量化级换成等间距的
# $\{-7, \dots, 7\}/7$，即常见的对称 absmax 网格。
#
# 我们用两种方法量化 $2^{18}$ 个标准正态分布的权重（代替一个预训练矩阵），并像真实的计算内核那样，把两个 4 位下标打包进一个字节。

# %%
BLOCK = 64
INT4 = torch.arange(-7, 8) / 7


def quantize_blockwise(w, levels, block=BLOCK):
    """Absmax per block of `block` weights, then the index of the nearest level: (uint8 indices, scales)."""
    blocks = w.reshape(-1, block)
    absmax = blocks.abs().amax(dim=1, keepdim=True)
    idx = ((blocks / absmax).unsqueeze(-1) - levels).abs().argmin(dim=-1)
    return idx.to(torch.uint8), absmax.squeeze(1)


def dequantize_blockwise(idx, absmax, levels, shape):
    return (levels[idx.long()] * absmax.unsqueeze(1)).reshape(shape)


def pack_4bit(idx):
    """Two 4-bit indices per byte: the high nibble holds the even positions."""
    flat = idx.flatten()
    return flat[0::2] << 4 | flat[1::2]


def unpack_4bit(packed, shape):
    return torch.stack([packed >> 4, packed & 0xF], dim=1).reshape(shape)


weights = torch.randn(512, 512)
errors = {}
for name, levels in (("NF4", NF4), ("INT4", INT4)):
    idx, absmax = quantize_blockwise(weights, levels)
    packed = pack_4bit(idx)
    assert packed.numel() == weights.numel() // 2 and torch.equal(unpack_4bit(packed, idx.shape), idx)
    w_hat = dequantize_blockwise(unpack_4bit(packed, idx.shape), absmax, levels, weights.shape)
    half_gap = levels.diff().max() / 2  # nearest level: never further than half the widest gap
    assert ((w_hat - weights).abs() <= half_gap * absmax.repeat_interleave(BLOCK).view_as(weights) + 1e-6).all()
    errors[name] = {"mse": F.mse_loss(w_hat, weights).item(), "idx": idx}
    print(f"{name:4}: mean squared error {errors[name]['mse']:.5f}, "
          f"{packed.numel():,} bytes for {weights.numel():,} weights")

assert errors["NF4"]["mse"] < 0.8 * errors["INT4"]["mse"]
print(f"NF4 error is {errors['NF4']['mse'] / errors['INT4']['mse']:.0%} of INT4's")


def code_entropy(idx):
    """Entropy (bits) of how often each 4-bit code is used: 4 bits if all 16 are equally frequent."""
    share = torch.bincount(idx.flatten().long(), minlength=16) / idx.numel()
    return -torch.special.xlogy(share, share).sum().item() / math.log(2)


entropy_nf4, entropy_int4 = code_entropy(errors["NF4"]["idx"]), code_entropy(errors["INT4"]["idx"])
assert entropy_nf4 > entropy_int4 + 0.1
print(f"code usage entropy: NF4 {entropy_nf4:.2f} bits, INT4 {entropy_int4:.2f} bits (4 = all codes equally used)")

# %% [markdown] tags=["en"]
# NF4 wins because its levels sit where the weights are. After dividing by the block's absmax, most
# weights fall near zero, where INT4's levels are as sparse as in the tails. The right panel counts how
# often each of the 16 codes is used: NF4 spreads the weights more evenly over its codes, while INT4 crowds
# them into its middle codes and never uses its 16th code.

# %% [markdown] tags=["zh"]
# NF4 误差更小，是因为它的量化级放在权重密集的地方。除以块内 absmax 之后，大部分权重落在 0 附近，
# 而 INT4 在那里的量化级和尾部一样稀疏。右图统计 16 个编码各被用到多少次：NF4 把权重分配得更均匀，
# 而 INT4 把权重挤在中间几个编码上，第 16 个编码根本用不到。

# %%
NF4_LABELS = {
    "en": {"x": r"normalized weight $w/c$ in a block of 64", "density": "density",
           "code": "4-bit code", "share": "share of weights"},
    "zh": {"x": r"块内归一化后的权重 $w/c$（每块 64 个）", "density": "密度",
           "code": "4 位编码", "share": "权重占比"},
}


def draw_nf4(lang):
    labels = NF4_LABELS[lang]
    fig, (ax_w, ax_c) = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    blocks = weights.reshape(-1, BLOCK)
    ax_w.hist((blocks / blocks.abs().amax(1, keepdim=True)).flatten().numpy(), bins=120, density=True,
              color="lightgray")
    for values, name, color, y in ((NF4, "NF4", "C0", 0.9), (INT4, "INT4", "C1", 0.45)):
        ax_w.vlines(values.numpy(), 0, y, color=color, linewidth=1.2, label=name)
    ax_w.set(xlabel=labels["x"], ylabel=labels["density"])
    ax_w.legend()
    codes = torch.arange(16)
    for offset, name, color in ((-0.2, "NF4", "C0"), (0.2, "INT4", "C1")):
        share = torch.bincount(errors[name]["idx"].flatten().long(), minlength=16) / weights.numel()
        ax_c.bar(codes + offset, share.numpy(), width=0.4, color=color, label=name)
    ax_c.axhline(1 / 16, color="gray", linestyle=":", label="1/16")
    ax_c.set(xlabel=labels["code"], ylabel=labels["share"], xticks=range(0, 16, 3))
    ax_c.legend()
    return fig


show(draw_nf4)

# %% [markdown] tags=["en"]
# ## Double quantization { #double-quantization }
#
# The absmax constants are not free: one fp32 number per 64 weights is $32/64 = 0.5$ extra bits per
# parameter. QLoRA quantizes these constants again, to 8 bits in blocks of 256, keeping one fp32 constant
# per block of constants:
#
# $$
# \underbrace{4}_{\text{NF4}} + \underbrace{\frac{32}{64}}_{\text{fp32 } c} = 4.5
# \quad\longrightarrow\quad
# 4 + \frac{8}{64} + \frac{32}{64 \cdot 256} \approx 4.127 \text{ bits per parameter}.
# $$
#
# The paper uses 8-bit floats for the second level; we use 8-bit absmax integers, after subtracting the
# mean of the constants (they are all positive, and centering them uses the 8-bit range better). What counts is that the weights barely change and the bytes shrink.

# %% [markdown] tags=["zh"]
# ## 双重量化 { #double-quantization }
#
# absmax 常数本身也占内存：每 64 个权重一个 fp32 数，相当于每个参数多 $32/64 = 0.5$ 位。QLoRA 把这些常数再量化一次，
# 量化成 8 位、每 256 个常数一块，每块保留一个 fp32 常数：
#
# $$
# \underbrace{4}_{\text{NF4}} + \underbrace{\frac{32}{64}}_{\text{fp32 } c} = 4.5
# \quad\longrightarrow\quad
# 4 + \frac{8}{64} + \frac{32}{64 \cdot 256} \approx 4.127 \text{ bits per parameter}.
# $$
#
# 论文在第二级用的是 8 位浮点数；这里先减去常数的均值（它们全是正数，中心化后能更好地利用 8 位的取值范围），
# 再用 8 位 absmax 整数量化。关键在于：权重几乎不变，而字节数变少了。

# %%
BLOCK_2 = 256


def double_quantize(absmax, block=BLOCK_2):
    """absmax constants -> int8 codes per block of 256, one fp32 scale per block, one fp32 mean."""
    mean = absmax.mean()
    blocks = (absmax - mean).reshape(-1, block)
    scale = blocks.abs().amax(dim=1, keepdim=True) / 127
    return torch.round(blocks / scale).to(torch.int8), scale.squeeze(1), mean


def double_dequantize(codes, scale, mean):
    return (codes.float() * scale.unsqueeze(1)).flatten() + mean


idx, absmax = quantize_blockwise(weights, NF4)
codes, scale_2, mean_2 = double_quantize(absmax)
absmax_dq = double_dequantize(codes, scale_2, mean_2)
w_dq = dequantize_blockwise(idx, absmax_dq, NF4, weights.shape)
mse_dq = F.mse_loss(w_dq, weights).item()

n = weights.numel()
bytes_single = n // 2 + absmax.numel() * absmax.element_size()
bytes_double = (n // 2 + codes.numel() * codes.element_size() + scale_2.numel() * scale_2.element_size()
                + mean_2.element_size())
bits_single, bits_double = 8 * bytes_single / n, 8 * bytes_double / n
print(f"NF4 + fp32 constants:           {bits_single:.3f} bits/param, MSE {errors['NF4']['mse']:.5f}")
print(f"NF4 + double-quantized consts:  {bits_double:.3f} bits/param, MSE {mse_dq:.5f}")
assert bits_single == 4 + 32 / 64
assert abs(bits_double - (4 + 8 / 64 + 32 / (64 * 256))) < 1e-3  # + one fp32 mean for the whole tensor
assert mse_dq < 1.01 * errors["NF4"]["mse"]  # the weights barely notice

saved_gb = (bits_single - (4 + 8 / 64 + 32 / (64 * 256))) * 65e9 / 8 / 1e9
print(f"saving {bits_single - bits_double:.3f} bits/param = {saved_gb:.1f} GB on a 65B-parameter model")
assert 2.9 < saved_gb < 3.1

# %% [markdown] tags=["en"]
# ## QLoRA in miniature { #qlora-miniature }
#
# Putting the pieces together: we replace every weight matrix of the pre-trained network by its NF4
# round trip (blocks of 64), which is what the forward pass sees when QLoRA dequantizes on the fly, and
# train the same $r = 4$ adapters on top in full precision. The base is a little worse after quantization,
# and the adapters, trained against the quantized base, recover the task.

# %% [markdown] tags=["zh"]
# ## 缩微版 QLoRA { #qlora-miniature }
#
# 把各部分拼起来：把预训练网络的每个权重矩阵都换成 NF4 量化再反量化的结果（每块 64 个），这正是 QLoRA
# 即时反量化时前向传播看到的权重；然后在它上面用全精度训练同样的 $r = 4$ 适配器。量化后基座模型略有变差，
# 而针对量化基座训练出来的适配器仍能学好新任务。

# %%
@torch.no_grad()
def nf4_round_trip(model):
    """A copy whose nn.Linear weights went through blockwise NF4 quantization and back."""
    model = copy.deepcopy(model)
    for layer in model:
        if isinstance(layer, nn.Linear):
            layer.weight.copy_(dequantize_blockwise(*quantize_blockwise(layer.weight, NF4), NF4,
                                                    layer.weight.shape))
    return model


quantized_base = nf4_round_trip(pretrained)
q_base_a = rel_error(quantized_base, *task_a_test)
qlora_err = rel_error(train(add_lora(quantized_base, LORA_RANK), *task_b_train, STEPS_B, LORA_LR), *task_b_test)
print(f"task A, base before / after NF4: {base_a:.4f} / {q_base_a:.4f}")
print(f"task B, LoRA on fp32 base: {lora_err:.4f}; QLoRA (LoRA on NF4 base): {qlora_err:.4f}")
assert q_base_a < 5 * base_a + 0.01  # 4-bit weights keep the pre-trained function
assert qlora_err < 1.5 * lora_err  # and the adapters still learn task B

# %% [markdown] tags=["en"]
# ## Takeaways { #takeaways }
#
# - A LoRA layer is a frozen linear layer plus $\frac{\alpha}{r}B(Ax)$. With $B = 0$ at the start it
#   computes exactly the pre-trained function, and it trains $r(d+k)$ parameters instead of $dk$.
# - On a task shift of low rank, LoRA with 6% of the trainable parameters matched full fine-tuning; too
#   small a rank could not express the shift.
# - Merging $W_0 + \frac{\alpha}{r}BA$ gives a plain linear layer with the same outputs, so a merged
#   adapter adds no inference cost.
# - NF4 puts 16 levels at normal quantiles, with an exact zero; with blockwise absmax scaling it beats
#   uniform INT4 on normal weights. Double quantization cuts the constants from 0.5 to about 0.127 bits per
#   parameter.
#
# Back to the questions: [how LoRA works](../fine-tuning-alignment.md#lora) ·
# [QLoRA](../fine-tuning-alignment.md#qlora) · [PEFT methods](../fine-tuning-alignment.md#peft-methods) ·
# [quantization](../efficiency.md#quantization). INT8 quantization, pruning and the KV cache are in the
# [compression notebook](compression.ipynb).

# %% [markdown] tags=["zh"]
# ## 小结 { #takeaways }
#
# - LoRA 层就是一个冻结的线性层加上 $\frac{\alpha}{r}B(Ax)$。由于初始时 $B = 0$，它的计算与预训练模型完全相同；
#   可训练参数是 $r(d+k)$ 个，而不是 $dk$ 个。
# - 当任务差异是低秩的时候，只训练 6% 参数的 LoRA 就追平了全量微调；秩太小则无法表达这种差异。
# - 合并 $W_0 + \frac{\alpha}{r}BA$ 得到的是输出相同的普通线性层，所以合并后的适配器不增加推理开销。
# - NF4 把 16 个量化级放在正态分位点上，并能精确表示 0；配合分块 absmax 缩放，在正态分布的权重上误差比均匀 INT4 小。
#   双重量化把量化常数的开销从每个参数 0.5 位降到约 0.127 位。
#
# 回到问答页：[LoRA 原理](../fine-tuning-alignment.md#lora) · [QLoRA](../fine-tuning-alignment.md#qlora) ·
# [PEFT 方法对比](../fine-tuning-alignment.md#peft-methods) · [量化](../efficiency.md#quantization)。
# INT8 量化、剪枝和 KV 缓存见[压缩 notebook](compression.ipynb)。
