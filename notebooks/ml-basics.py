# %% [markdown] tags=["en"]
# # Machine-learning basics, numerically
#
# This notebook checks the formulas behind several foundation questions with small numeric experiments:
# [log loss](../ml-foundations.md#log-loss), [focal loss](../ml-foundations.md#loss-functions) and
# [class weights](../ml-foundations.md#class-imbalance), [dropout](../ml-foundations.md#dropout),
# [ReLU's derivative](../ml-foundations.md#relu),
# [vanishing gradients](../ml-foundations.md#vanishing-exploding-gradients), and the numerics of
# [softmax](../ml-foundations.md#softmax), cross-entropy and [KL divergence](../ml-foundations.md#kl-divergence).
# Every check is an `assert`, so a wrong implementation fails the build.

# %% [markdown] tags=["zh"]
# # 用数值实验理解机器学习基础
#
# 本 notebook 用小规模的数值实验验证几道基础题背后的公式：[对数损失](../ml-foundations.md#log-loss)、
# [Focal Loss](../ml-foundations.md#loss-functions) 与[类别权重](../ml-foundations.md#class-imbalance)、
# [Dropout](../ml-foundations.md#dropout)、[ReLU 的导数](../ml-foundations.md#relu)、
# [梯度消失](../ml-foundations.md#vanishing-exploding-gradients)，以及 [softmax](../ml-foundations.md#softmax)、
# 交叉熵和 [KL 散度](../ml-foundations.md#kl-divergence)的数值计算。每项校验都是一条 `assert`，实现有误时构建会直接失败。

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
# ## Log loss { #log-loss }
#
# For a label $y \in \{0, 1\}$ and a predicted probability $p = \sigma(z)$ of class 1, the log loss
# (binary cross-entropy) is
#
# $$
# \mathcal{L} = -\big[y\log p + (1-y)\log(1-p)\big],\qquad \frac{\partial\mathcal{L}}{\partial z} = p - y .
# $$
#
# We compare it with `F.binary_cross_entropy` (which takes probabilities) and
# `F.binary_cross_entropy_with_logits` (which takes logits), and check the gradient with autograd.

# %% [markdown] tags=["zh"]
# ## 对数损失 { #log-loss }
#
# 设标签 $y \in \{0, 1\}$，模型预测类别 1 的概率为 $p = \sigma(z)$，对数损失（Log Loss，即二元交叉熵）为
#
# $$
# \mathcal{L} = -\big[y\log p + (1-y)\log(1-p)\big],\qquad \frac{\partial\mathcal{L}}{\partial z} = p - y .
# $$
#
# 下面与 `F.binary_cross_entropy`（输入概率）和 `F.binary_cross_entropy_with_logits`（输入 logits）对比，
# 并用 autograd 核对梯度。

# %%
def log_loss(p, y):
    """Mean binary cross-entropy of probabilities p against 0/1 labels y."""
    return -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()


z = torch.randn(100, dtype=DTYPE, requires_grad=True)
y = torch.randint(0, 2, (100,)).to(DTYPE)
p = torch.sigmoid(z)
ours = log_loss(p, y)
torch.testing.assert_close(ours, F.binary_cross_entropy(p, y))
torch.testing.assert_close(ours, F.binary_cross_entropy_with_logits(z, y))
ours.backward()
torch.testing.assert_close(z.grad, (p - y).detach() / len(y))  # the mean divides by the batch
print(f"log loss {ours.item():.4f} matches both PyTorch functions; dL/dz = (p - y) / n")

for prob in (0.9, 0.5, 0.01):
    print(f"p(true class) = {prob:<4}: loss = {-math.log(prob):.3f}")

# %% [markdown] tags=["en"]
# Confident mistakes are expensive, and a probability of exactly 0 on the true class would cost
# $\infty$. `F.binary_cross_entropy` clamps each log at $-100$ so training does not produce `inf`; the
# logits version needs no clamp because it never forms $\log 0$.

# %% [markdown] tags=["zh"]
# 自信的错误代价很高；如果给真实类别的概率恰好是 0，损失就是 $\infty$。`F.binary_cross_entropy` 把每个对数截断在
# $-100$，避免训练中出现 `inf`；logits 版本不会计算 $\log 0$，所以不需要截断。

# %%
zero, one = torch.tensor([0.0]), torch.tensor([1.0])
assert torch.isinf(log_loss(zero, one))
assert F.binary_cross_entropy(zero, one).item() == 100.0
assert torch.isfinite(F.binary_cross_entropy_with_logits(torch.tensor([-1000.0]), one))
print(f"p = 0 for a positive: from scratch {log_loss(zero, one).item()}, "
      f"F.binary_cross_entropy {F.binary_cross_entropy(zero, one).item()} (clamped)")

# %% [markdown] tags=["en"]
# ## Focal loss { #focal-loss }
#
# Focal loss (*Focal Loss for Dense Object Detection*, Lin et al., 2017) multiplies cross-entropy by a
# factor that shrinks for well-classified examples:
#
# $$
# \operatorname{FL}(p_t) = -(1-p_t)^{\gamma}\log p_t ,
# $$
#
# where $p_t$ is the predicted probability of the true class. With $\gamma = 0$ it is exactly
# cross-entropy. With $\gamma = 2$ an easy example at $p_t = 0.9$ keeps $0.1^2 = 1\%$ of its loss and a
# hard one at $p_t = 0.5$ keeps 25%.

# %% [markdown] tags=["zh"]
# ## Focal Loss { #focal-loss }
#
# Focal Loss（*Focal Loss for Dense Object Detection*，Lin 等，2017）给交叉熵乘上一个因子，样本分得越准，因子越小：
#
# $$
# \operatorname{FL}(p_t) = -(1-p_t)^{\gamma}\log p_t ,
# $$
#
# 其中 $p_t$ 是模型给真实类别的概率。$\gamma = 0$ 时它就是交叉熵。$\gamma = 2$ 时，$p_t = 0.9$ 的简单样本只保留
# $0.1^2 = 1\%$ 的损失，$p_t = 0.5$ 的困难样本保留 25%。

# %%
def focal_loss(logits, labels, gamma):
    """Mean multi-class focal loss -(1 - p_t)^gamma * log p_t, from logits."""
    log_p_t = torch.log_softmax(logits, dim=-1).gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return (-(1 - log_p_t.exp()) ** gamma * log_p_t).mean()


logits_fl = 2 * torch.randn(256, 5, dtype=DTYPE)
labels_fl = torch.randint(5, (256,))
torch.testing.assert_close(focal_loss(logits_fl, labels_fl, gamma=0), F.cross_entropy(logits_fl, labels_fl))
print("gamma = 0: focal loss = F.cross_entropy,", max_err(focal_loss(logits_fl, labels_fl, 0), F.cross_entropy(logits_fl, labels_fl)))


def binary_logits_for(p_t):
    """Two-class logits whose softmax gives probability p_t to class 0."""
    return torch.tensor([[math.log(p_t), math.log(1 - p_t)]], dtype=DTYPE)


for p_t, kept in ((0.9, 0.01), (0.5, 0.25)):
    ratio = focal_loss(binary_logits_for(p_t), torch.tensor([0]), 2) / focal_loss(binary_logits_for(p_t), torch.tensor([0]), 0)
    torch.testing.assert_close(ratio.item(), kept)
    print(f"gamma = 2, p_t = {p_t}: keeps {ratio.item():.0%} of the cross-entropy")

# %%
FOCAL_LABELS = {
    "en": {"x": r"probability of the true class $p_t$", "y": "loss", "ce": "cross-entropy"},
    "zh": {"x": r"真实类别的概率 $p_t$", "y": "损失", "ce": "交叉熵"},
}


def draw_focal(lang):
    labels = FOCAL_LABELS[lang]
    p_t = torch.linspace(0.01, 1.0, 200, dtype=DTYPE)
    fig, ax = plt.subplots(figsize=(5.5, 3.4), layout="constrained")
    for gamma in (0, 0.5, 1, 2, 5):
        loss = -(1 - p_t) ** gamma * p_t.log()
        ax.plot(p_t, loss, label=rf"$\gamma = {gamma}$" + (f" ({labels['ce']})" if gamma == 0 else ""))
    ax.set(xlabel=labels["x"], ylabel=labels["y"], ylim=(0, 5))
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


show(draw_focal)

# %% [markdown] tags=["en"]
# ## Class weights for imbalance { #class-weights }
#
# A binary task with 5% positives: two overlapping Gaussian clouds in 2D. Plain logistic regression
# mostly predicts the majority class, so its recall on the minority is low. Weighting each positive by
# $n_{\text{neg}}/n_{\text{pos}}$ (`pos_weight` in `F.binary_cross_entropy_with_logits`) makes both
# classes contribute equally to the loss. We compare minority recall and precision on a held-out set
# with the same imbalance.

# %% [markdown] tags=["zh"]
# ## 用类别权重处理不平衡 { #class-weights }
#
# 一个正类只占 5% 的二分类任务：二维平面上两团相互重叠的高斯分布。普通的逻辑回归（Logistic Regression）
# 大多会预测多数类，因此少数类的召回率很低。给每个正样本乘上权重 $n_{\text{neg}}/n_{\text{pos}}$
# （即 `F.binary_cross_entropy_with_logits` 的 `pos_weight`），两个类别对损失的贡献就相同了。
# 我们在不平衡比例相同的留出集上比较少数类的召回率和精确率。

# %%
POSITIVE_RATE, POSITIVE_SHIFT = 0.05, torch.tensor([2.0, 1.0], dtype=DTYPE)


def imbalanced_data(n, rng):
    """2D points: negatives ~ N(0, I), positives ~ N(shift, I), with 5% positives."""
    labels = (torch.rand(n, generator=rng) < POSITIVE_RATE).to(DTYPE)
    x = torch.randn(n, 2, generator=rng, dtype=DTYPE) + labels.unsqueeze(1) * POSITIVE_SHIFT
    return x, labels


def fit_logistic(x, labels, pos_weight=1.0):
    """Logistic regression fitted with L-BFGS on (optionally weighted) log loss; returns (w, b)."""
    w = torch.zeros(2, dtype=DTYPE, requires_grad=True)
    b = torch.zeros(1, dtype=DTYPE, requires_grad=True)
    optimizer = torch.optim.LBFGS([w, b], max_iter=100, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = F.binary_cross_entropy_with_logits(x @ w + b, labels, pos_weight=torch.tensor(pos_weight, dtype=DTYPE))
        loss.backward()
        return loss

    optimizer.step(closure)
    return w.detach(), b.detach()


def minority_metrics(w, b, x, labels):
    """Recall and precision of the positive (minority) class, and overall accuracy."""
    predicted = (x @ w + b > 0).to(DTYPE)
    true_pos = (predicted * labels).sum()
    return {"recall": (true_pos / labels.sum()).item(), "precision": (true_pos / predicted.sum()).item(),
            "accuracy": (predicted == labels).to(DTYPE).mean().item()}


rng = torch.Generator().manual_seed(0)
x_train, y_train = imbalanced_data(4000, rng)
x_test, y_test = imbalanced_data(4000, rng)
balance = ((1 - y_train).sum() / y_train.sum()).item()
plain = fit_logistic(x_train, y_train)
weighted = fit_logistic(x_train, y_train, pos_weight=balance)
m_plain, m_weighted = minority_metrics(*plain, x_test, y_test), minority_metrics(*weighted, x_test, y_test)

print(f"positives: {y_train.mean().item():.1%} of training data; pos_weight = {balance:.1f}")
print(f"always predicting negative: accuracy {1 - y_test.mean().item():.3f}, recall 0")
for name, m in (("unweighted", m_plain), ("weighted", m_weighted)):
    print(f"{name:>10}: minority recall {m['recall']:.3f}, precision {m['precision']:.3f}, accuracy {m['accuracy']:.3f}")
assert m_plain["recall"] < 0.6 and m_weighted["recall"] > m_plain["recall"] + 0.3, (m_plain, m_weighted)

# %% [markdown] tags=["en"]
# Recall roughly doubles, and precision and accuracy fall: more negatives are now flagged. Class weights
# move the trade-off; they do not make the classes more separable. For this model they do almost exactly
# what moving the threshold does: the weights keep their direction, and the bias grows by about
# $\log(\text{pos\_weight})$, the shift that turns the prior odds 1 : 19 into 1 : 1.

# %% [markdown] tags=["zh"]
# 召回率大约翻了一倍，精确率和准确率则下降了：更多的负样本被判为正类。类别权重移动的是权衡点，并不会让两类更容易分开。
# 对这个模型来说，它的效果几乎就是移动阈值：权重的方向不变，偏置大约增加 $\log(\text{pos\_weight})$，
# 也就是把先验几率 1 : 19 变成 1 : 1 所需的平移。

# %%
(w_plain, b_plain), (w_weighted, b_weighted) = plain, weighted
cosine = F.cosine_similarity(w_plain, w_weighted, dim=0).item()
bias_shift = (b_weighted - b_plain).item()
print(f"cosine(w_plain, w_weighted) = {cosine:.4f}; bias shift {bias_shift:.2f} vs log(pos_weight) = {math.log(balance):.2f}")
assert cosine > 0.99 and abs(bias_shift - math.log(balance)) < 0.5

# %% [markdown] tags=["en"]
# ## Dropout { #dropout }
#
# Inverted dropout zeroes each unit with probability $p$ during training and scales the survivors by
# $1/(1-p)$, so the expected value of every unit is unchanged; at evaluation it does nothing:
#
# $$
# m_i \sim \operatorname{Bernoulli}(1-p),\qquad \tilde h_i = \frac{m_i h_i}{1-p},\qquad \mathbb{E}[\tilde h_i] = h_i .
# $$
#
# We check our function and `nn.Dropout` on the same properties: in training mode about a fraction
# $p$ of the entries are zero and every other entry is exactly $h_i/(1-p)$; the average over many masks
# converges to $h$; in evaluation mode the output is the input. Without the $1/(1-p)$ factor the
# expected value would shrink to $(1-p)h$.

# %% [markdown] tags=["zh"]
# ## Dropout { #dropout }
#
# 反向 Dropout（Inverted Dropout）在训练时以概率 $p$ 把每个单元置零，并把保留下来的单元乘以 $1/(1-p)$，
# 这样每个单元的期望值不变；评估时它什么也不做：
#
# $$
# m_i \sim \operatorname{Bernoulli}(1-p),\qquad \tilde h_i = \frac{m_i h_i}{1-p},\qquad \mathbb{E}[\tilde h_i] = h_i .
# $$
#
# 我们对自己的实现和 `nn.Dropout` 检查同样的性质：训练模式下约有比例为 $p$ 的元素为零，其余元素恰好等于
# $h_i/(1-p)$；对大量掩码取平均会收敛到 $h$；评估模式下输出等于输入。如果不乘 $1/(1-p)$，期望值会缩小为 $(1-p)h$。

# %%
def dropout(h, p, training):
    """Inverted dropout: zero each entry with probability p and rescale the rest by 1 / (1 - p)."""
    if not training or p == 0.0:
        return h
    keep = (torch.rand_like(h) >= p).to(h.dtype)
    return h * keep / (1 - p)


P_DROP, N_MASKS = 0.3, 4000
h = torch.randn(50, dtype=DTYPE)
repeated = h.expand(N_MASKS, -1)  # 4000 independent masks over the same activations
torch_dropout = nn.Dropout(P_DROP)

for name, apply in (("ours", lambda t: dropout(t, P_DROP, training=True)), ("nn.Dropout", torch_dropout.train())):
    out = apply(repeated)
    zeros = out == 0
    n = zeros.numel()
    assert abs(zeros.double().mean().item() - P_DROP) < 4 * math.sqrt(P_DROP * (1 - P_DROP) / n)
    torch.testing.assert_close(out[~zeros], (repeated / (1 - P_DROP))[~zeros], rtol=1e-12, atol=0)
    std_err = h.abs() * math.sqrt(P_DROP / (1 - P_DROP) / N_MASKS)  # std of the mean of N_MASKS draws
    assert ((out.mean(0) - h).abs() < 4 * std_err + 1e-12).all()
    print(f"{name:>10}: {zeros.double().mean().item():.3f} of entries dropped, survivors scaled by exactly "
          f"1/(1-p), mean over {N_MASKS} masks within 4 standard errors of h")

torch.testing.assert_close(dropout(h, P_DROP, training=False), h)
torch.testing.assert_close(torch_dropout.eval()(h), h)
ones = torch.ones(N_MASKS, 50, dtype=DTYPE)
with_rescale = dropout(ones, P_DROP, training=True).mean().item()
without_rescale = (ones * (torch.rand_like(ones) >= P_DROP)).mean().item()  # dropout without the 1/(1-p)
assert abs(with_rescale - 1) < 0.01 and abs(without_rescale - (1 - P_DROP)) < 0.01
print(f"evaluation mode returns the input. Mean output for an input of ones: {with_rescale:.3f} with the "
      f"1/(1-p) factor, {without_rescale:.3f} without it")

# %% [markdown] tags=["en"]
# ## ReLU and its subgradient { #relu }
#
# $\operatorname{ReLU}(x) = \max(0, x)$ has derivative 1 for $x > 0$ and 0 for $x < 0$. At $x = 0$ it is
# not differentiable: any value in $[0, 1]$ is a valid subgradient. Autograd has to pick one, and the
# choice belongs to the operation, not to the function. `F.relu` uses 0, but the same function written
# with `clamp` or `maximum` gets a different value at 0.

# %% [markdown] tags=["zh"]
# ## ReLU 及其次梯度 { #relu }
#
# $\operatorname{ReLU}(x) = \max(0, x)$ 在 $x > 0$ 时导数为 1，在 $x < 0$ 时导数为 0。在 $x = 0$ 处不可导：
# $[0, 1]$ 中任何值都是合法的次梯度（Subgradient）。autograd 必须选一个，而这个选择取决于具体的算子，而不是函数本身。
# `F.relu` 取 0，但用 `clamp` 或 `maximum` 写出的同一个函数在 0 处的梯度不同。

# %%
def grad_at(f, x_values):
    """d f(x) / dx from autograd, element by element."""
    x = torch.tensor(x_values, dtype=DTYPE, requires_grad=True)
    (grad,) = torch.autograd.grad(f(x).sum(), x)
    return grad


points = [-2.0, -0.5, 0.0, 0.5, 2.0]
relu_grad = grad_at(F.relu, points)
torch.testing.assert_close(relu_grad, torch.tensor([0.0, 0.0, 0.0, 1.0, 1.0], dtype=DTYPE))
print(f"F.relu gradient at {points}: {relu_grad.tolist()}")

at_zero = {
    "F.relu(x)": grad_at(F.relu, [0.0]).item(),
    "x.clamp(min=0)": grad_at(lambda x: x.clamp(min=0), [0.0]).item(),
    "torch.maximum(x, 0)": grad_at(lambda x: torch.maximum(x, torch.zeros_like(x)), [0.0]).item(),
}
for name, value in at_zero.items():
    print(f"{name:>20}: gradient at 0 = {value}")
assert at_zero["F.relu(x)"] == 0.0 and all(0.0 <= v <= 1.0 for v in at_zero.values())
assert len(set(at_zero.values())) > 1  # same function, different subgradient conventions

# away from 0 the analytic derivative matches finite differences
x_check = torch.tensor([-1.5, -0.2, 0.3, 1.7], dtype=DTYPE, requires_grad=True)
assert torch.autograd.gradcheck(F.relu, (x_check,))
print("gradcheck (finite differences) passes away from 0")

# %% [markdown] tags=["en"]
# Exact zeros are rare in floating point, so the convention hardly matters in training. What matters is
# the zero gradient for all negative inputs: a unit whose input is negative for every example receives
# no gradient at all (a "dead" ReLU).

# %% [markdown] tags=["zh"]
# 浮点计算中恰好等于 0 的情况很少，所以这个约定在训练中几乎没有影响。真正要紧的是所有负输入的梯度都为零：
# 如果某个单元对每个样本的输入都是负的，它就完全收不到梯度（即「死亡」的 ReLU）。

# %% [markdown] tags=["en"]
# ## Vanishing gradients { #vanishing-gradients }
#
# Backpropagation multiplies one Jacobian per layer. For a sigmoid layer that Jacobian contains
# $\sigma'(x) \le 0.25$, so through 20 layers the gradient shrinks by many orders of magnitude. ReLU
# passes gradients with factor 1 where it is active, and He initialization
# ($\operatorname{Var}[W_{ij}] = 2/n_{\text{in}}$) keeps the scale of signals constant from layer to layer.
# Initialization matters as much as the activation: the same ReLU network with weights that are too small
# loses its gradient too.
#
# Three 20-layer MLPs of width 64 get the same input batch and the same regression target; we record the
# gradient norm of each layer's weight matrix.

# %% [markdown] tags=["zh"]
# ## 梯度消失 { #vanishing-gradients }
#
# 反向传播在每一层乘上一个雅可比矩阵（Jacobian）。sigmoid 层的雅可比矩阵里含有 $\sigma'(x) \le 0.25$，
# 经过 20 层后梯度会缩小许多个数量级。ReLU 在激活区以因子 1 传递梯度，而 He 初始化
# （$\operatorname{Var}[W_{ij}] = 2/n_{\text{in}}$）让信号的尺度逐层保持不变。初始化和激活函数同样重要：
# 同样的 ReLU 网络，如果权重太小，梯度一样会消失。
#
# 三个宽度为 64 的 20 层 MLP 使用同一批输入和同一个回归目标，我们记录每一层权重矩阵的梯度范数。

# %%
DEPTH, WIDTH = 20, 64


def deep_mlp(activation, init_weight):
    """DEPTH Linear + activation layers of size WIDTH, weights set by init_weight, biases zero."""
    layers = []
    for _ in range(DEPTH):
        linear = nn.Linear(WIDTH, WIDTH, dtype=DTYPE)
        init_weight(linear.weight)
        nn.init.zeros_(linear.bias)
        layers += [linear, activation()]
    return nn.Sequential(*layers)


def layer_grad_norms(model, x, target):
    """Gradient norm of every Linear weight after one backward pass of the MSE loss."""
    F.mse_loss(model(x), target).backward()
    return [m.weight.grad.norm().item() for m in model if isinstance(m, nn.Linear)]


NETWORKS = {
    "sigmoid": (nn.Sigmoid, nn.init.xavier_normal_),
    "relu_he": (nn.ReLU, lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu")),
    "relu_small": (nn.ReLU, lambda w: nn.init.normal_(w, std=0.05)),
}
x_batch = torch.randn(256, WIDTH, dtype=DTYPE)
target = torch.rand(256, WIDTH, dtype=DTYPE)
grad_norms = {}
for name, (activation, init_weight) in NETWORKS.items():
    torch.manual_seed(0)
    grad_norms[name] = layer_grad_norms(deep_mlp(activation, init_weight), x_batch, target)

print(f"{'network':>11} {'layer 1':>9} {'layer 10':>9} {'layer 20':>9} {'first/last':>11}")
for name, g in grad_norms.items():
    print(f"{name:>11} {g[0]:9.1e} {g[9]:9.1e} {g[-1]:9.1e} {g[0] / g[-1]:11.1e}")

sigmoid, relu_he = grad_norms["sigmoid"], grad_norms["relu_he"]
per_layer = (sigmoid[-1] / sigmoid[0]) ** (1 / (DEPTH - 1))
print(f"sigmoid: the gradient shrinks by a factor of {per_layer:.1f} per layer on the way back (sigmoid' <= 0.25)")
assert sigmoid[0] / sigmoid[-1] < 1e-6  # many orders of magnitude
assert 0.1 < relu_he[0] / relu_he[-1] < 10  # roughly the same scale in every layer
assert sigmoid[0] < 1e-6 * relu_he[0]
assert grad_norms["relu_small"][0] < 1e-6 * relu_he[0]

# %%
VANISH_LABELS = {
    "en": {"x": "layer (1 = closest to the input)", "y": "gradient norm of the layer's weights",
           "sigmoid": "sigmoid, Xavier init", "relu_he": "ReLU, He init", "relu_small": r"ReLU, $\mathcal{N}(0, 0.05^2)$ init"},
    "zh": {"x": "层（1 = 最靠近输入）", "y": "该层权重的梯度范数",
           "sigmoid": "sigmoid，Xavier 初始化", "relu_he": "ReLU，He 初始化", "relu_small": r"ReLU，$\mathcal{N}(0, 0.05^2)$ 初始化"},
}


def draw_vanishing(lang):
    labels = VANISH_LABELS[lang]
    fig, ax = plt.subplots(figsize=(6.5, 4.2), layout="constrained")
    layers = range(1, DEPTH + 1)
    for name, style in (("relu_he", "o-"), ("sigmoid", "s-"), ("relu_small", "^--")):
        ax.plot(layers, grad_norms[name], style, markersize=4, label=labels[name])
    ax.set(yscale="log", xlabel=labels["x"], ylabel=labels["y"])
    ax.set_xticks(range(1, DEPTH + 1, 2))
    ax.grid(alpha=0.3)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2)  # below the axes: the curves fill them
    return fig


show(draw_vanishing)

# %% [markdown] tags=["en"]
# On a log scale the sigmoid network's gradient is a straight line: each layer multiplies it by a roughly
# constant factor below $1/4$, since $\sigma' \le 0.25$ and Xavier-initialized weights have gain close to
# 1. The ReLU network with He initialization stays flat. The ReLU network with small weights is flat too,
# but some ten orders of magnitude lower: its forward activations shrink by the same factor at every layer,
# and so do the gradients that depend on them.

# %% [markdown] tags=["zh"]
# 在对数坐标下，sigmoid 网络的梯度是一条直线：每经过一层就乘上一个大致恒定、小于 $1/4$ 的因子，因为
# $\sigma' \le 0.25$，而 Xavier 初始化的权重增益接近 1。采用 He 初始化的 ReLU 网络保持水平。
# 权重过小的 ReLU 网络也是水平的，但低了大约十个数量级：它的前向激活每层都按同样的因子缩小，依赖这些激活的梯度也随之缩小。

# %% [markdown] tags=["en"]
# ## Softmax, log-sum-exp and cross-entropy { #softmax-numerics }
#
# $\operatorname{softmax}(z)_i = e^{z_i}/\sum_j e^{z_j}$ computed literally overflows: in float32,
# $e^{x}$ is `inf` for $x$ above about 88.7, and `inf / inf` is `nan`. Softmax does not change when a
# constant is subtracted from every logit, so implementations subtract $\max_j z_j$ first. The same trick
# gives a stable log-sum-exp, and with it cross-entropy straight from logits:
#
# $$
# \log\sum_j e^{z_j} = m + \log\sum_j e^{z_j - m},\quad m = \max_j z_j,\qquad
# \mathrm{CE}(z, y) = \log\sum_j e^{z_j} - z_y .
# $$

# %% [markdown] tags=["zh"]
# ## Softmax、log-sum-exp 与交叉熵 { #softmax-numerics }
#
# 直接按定义计算 $\operatorname{softmax}(z)_i = e^{z_i}/\sum_j e^{z_j}$ 会溢出：在 float32 中，$x$ 超过约 88.7 时
# $e^{x}$ 就是 `inf`，而 `inf / inf` 得到 `nan`。所有 logits 同时减去一个常数不会改变 softmax，所以实现时先减去
# $\max_j z_j$。同样的技巧给出稳定的 log-sum-exp，进而可以直接从 logits 计算交叉熵：
#
# $$
# \log\sum_j e^{z_j} = m + \log\sum_j e^{z_j - m},\quad m = \max_j z_j,\qquad
# \mathrm{CE}(z, y) = \log\sum_j e^{z_j} - z_y .
# $$

# %%
def naive_softmax(z):
    return z.exp() / z.exp().sum(-1, keepdim=True)


def stable_softmax(z):
    shifted = z - z.amax(-1, keepdim=True)  # the largest logit becomes 0: exp cannot overflow
    return shifted.exp() / shifted.exp().sum(-1, keepdim=True)


def logsumexp(z):
    m = z.amax(-1, keepdim=True)
    return (m + (z - m).exp().sum(-1, keepdim=True).log()).squeeze(-1)


def cross_entropy(logits, labels):
    """Mean of logsumexp(z) - z_y: cross-entropy from logits without forming probabilities."""
    return (logsumexp(logits) - logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1)).mean()


assert torch.isfinite(torch.exp(torch.tensor(88.0))) and torch.isinf(torch.exp(torch.tensor(89.0)))
big = torch.tensor([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -999.0]])  # float32
naive = naive_softmax(big)
stable = stable_softmax(big)
assert torch.isnan(naive).all()  # inf / inf in row 0, 0 / 0 in row 1
assert torch.isfinite(stable).all()
torch.testing.assert_close(stable, torch.softmax(big, -1))
print(f"naive softmax of logits near ±1000: {naive[0].tolist()}; stable: {[round(v, 4) for v in stable[0].tolist()]}")

assert torch.isinf(big.exp().sum(-1).log()[0])
torch.testing.assert_close(logsumexp(big), torch.logsumexp(big, -1))
print(f"log-sum-exp: naive {big.exp().sum(-1).log().tolist()}, stable {logsumexp(big).tolist()}")

logits_ce = 300 * torch.randn(64, 50)  # float32 logits far beyond exp's range
labels_ce = torch.randint(50, (64,))
ours_ce = cross_entropy(logits_ce, labels_ce)
assert torch.isfinite(ours_ce)
torch.testing.assert_close(ours_ce, F.cross_entropy(logits_ce, labels_ce))
print(f"cross-entropy of logits with std 300: {ours_ce.item():.2f}, equal to F.cross_entropy")

# %% [markdown] tags=["en"]
# ## KL divergence and cross-entropy { #kl-cross-entropy }
#
# For distributions $p$ and $q$ over the same classes:
#
# $$
# H(p) = -\sum_i p_i\log p_i,\qquad H(p, q) = -\sum_i p_i\log q_i,\qquad
# \mathrm{KL}(p\,\|\,q) = \sum_i p_i\log\frac{p_i}{q_i} = H(p, q) - H(p) .
# $$
#
# On 10,000 random pairs of distributions we check that KL is never negative, is zero for $q = p$, is
# not symmetric, and that cross-entropy equals entropy plus KL, so minimizing cross-entropy over $q$
# minimizes the KL. The worked example $p = (0.5, 0.5)$, $q = (0.9, 0.1)$ gives 0.511 nats one way and
# 0.368 the other.

# %% [markdown] tags=["zh"]
# ## KL 散度与交叉熵 { #kl-cross-entropy }
#
# 对同一组类别上的分布 $p$ 和 $q$：
#
# $$
# H(p) = -\sum_i p_i\log p_i,\qquad H(p, q) = -\sum_i p_i\log q_i,\qquad
# \mathrm{KL}(p\,\|\,q) = \sum_i p_i\log\frac{p_i}{q_i} = H(p, q) - H(p) .
# $$
#
# 我们在 10,000 对随机分布上验证：KL 从不为负，$q = p$ 时为零，不对称；交叉熵等于熵加 KL，
# 因此对 $q$ 最小化交叉熵就是最小化 KL。例子 $p = (0.5, 0.5)$、$q = (0.9, 0.1)$ 的两个方向分别是 0.511 nats 和 0.368 nats。

# %%
def entropy(p):
    return -torch.special.xlogy(p, p).sum(-1)  # xlogy(0, 0) = 0


def cross_entropy_dist(p, q):
    return -(p * q.log()).sum(-1)


def kl(p, q):
    return (torch.special.xlogy(p, p) - p * q.log()).sum(-1)


dirichlet = torch.distributions.Dirichlet(torch.full((8,), 0.5, dtype=DTYPE))
p_rand, q_rand = dirichlet.sample((10_000,)), dirichlet.sample((10_000,))
kl_pq, kl_qp = kl(p_rand, q_rand), kl(q_rand, p_rand)

assert (kl_pq >= -1e-12).all()
torch.testing.assert_close(kl(p_rand, p_rand), torch.zeros(10_000, dtype=DTYPE))
torch.testing.assert_close(cross_entropy_dist(p_rand, q_rand), entropy(p_rand) + kl_pq)
torch.testing.assert_close(kl_pq, F.kl_div(q_rand.log(), p_rand, reduction="none").sum(-1))
torch.testing.assert_close(kl_pq, torch.distributions.kl_divergence(
    torch.distributions.Categorical(probs=p_rand), torch.distributions.Categorical(probs=q_rand)))
print(f"10,000 pairs: min KL(p||q) = {kl_pq.min().item():.2e} >= 0; KL(p||p) = 0; H(p, q) = H(p) + KL(p||q); "
      "matches F.kl_div and torch.distributions")
print(f"asymmetry: mean |KL(p||q) - KL(q||p)| = {(kl_pq - kl_qp).abs().mean().item():.3f} nats")

p_ex, q_ex = torch.tensor([0.5, 0.5], dtype=DTYPE), torch.tensor([0.9, 0.1], dtype=DTYPE)
forward, reverse = kl(p_ex, q_ex).item(), kl(q_ex, p_ex).item()
assert round(forward, 3) == 0.511 and round(reverse, 3) == 0.368
print(f"p = (0.5, 0.5), q = (0.9, 0.1): KL(p||q) = {forward:.3f}, KL(q||p) = {reverse:.3f} nats")

# %% [markdown] tags=["en"]
# ## Takeaways { #takeaways }
#
# - Log loss has gradient $p - y$ with respect to the logit; compute it from logits, or PyTorch silently
#   clamps $\log 0$ to $-100$.
# - Focal loss with $\gamma = 0$ is cross-entropy; $\gamma > 0$ down-weights easy examples.
# - Class weights trade precision for minority recall; for logistic regression they mostly shift the
#   bias, like moving the threshold.
# - Inverted dropout keeps the expected activation; in evaluation mode it is the identity.
# - ReLU's gradient at 0 is a convention that depends on the operation (`relu`: 0, `clamp`: 1,
#   `maximum`: 0.5).
# - Twenty sigmoid layers shrink the first layer's gradient by more than six orders of magnitude; ReLU
#   with He initialization keeps every layer's gradient on the same scale, and a bad initialization
#   undoes that.
# - Subtract the maximum before exponentiating: softmax, log-sum-exp and cross-entropy then work for any
#   logits. KL is non-negative, asymmetric, and equals cross-entropy minus entropy.
#
# Back to the questions: [log loss](../ml-foundations.md#log-loss) ·
# [loss functions](../ml-foundations.md#loss-functions) · [class imbalance](../ml-foundations.md#class-imbalance) ·
# [dropout](../ml-foundations.md#dropout) · [ReLU](../ml-foundations.md#relu) ·
# [vanishing gradients](../ml-foundations.md#vanishing-exploding-gradients) ·
# [initialization](../ml-foundations.md#zero-initialization) · [softmax](../ml-foundations.md#softmax) ·
# [KL divergence](../ml-foundations.md#kl-divergence).

# %% [markdown] tags=["zh"]
# ## 小结 { #takeaways }
#
# - 对数损失对 logit 的梯度是 $p - y$；要从 logits 计算，否则 PyTorch 会悄悄把 $\log 0$ 截断为 $-100$。
# - $\gamma = 0$ 的 Focal Loss 就是交叉熵；$\gamma > 0$ 降低简单样本的权重。
# - 类别权重用精确率换取少数类召回率；对逻辑回归而言，它主要是平移偏置，效果类似移动阈值。
# - 反向 Dropout 保持激活的期望值不变；评估模式下它是恒等映射。
# - ReLU 在 0 处的梯度是一个约定，取决于具体算子（`relu` 为 0，`clamp` 为 1，`maximum` 为 0.5）。
# - 20 层 sigmoid 让第一层的梯度缩小六个数量级以上；ReLU 配合 He 初始化让各层梯度保持在同一量级，而糟糕的初始化会让这一点失效。
# - 先减去最大值再取指数：softmax、log-sum-exp 和交叉熵对任何 logits 都能正常计算。KL 非负、不对称，等于交叉熵减去熵。
#
# 回到问答页：[对数损失](../ml-foundations.md#log-loss) ·
# [损失函数](../ml-foundations.md#loss-functions) · [类别不平衡](../ml-foundations.md#class-imbalance) ·
# [Dropout](../ml-foundations.md#dropout) · [ReLU](../ml-foundations.md#relu) ·
# [梯度消失](../ml-foundations.md#vanishing-exploding-gradients) ·
# [初始化](../ml-foundations.md#zero-initialization) · [softmax](../ml-foundations.md#softmax) ·
# [KL 散度](../ml-foundations.md#kl-divergence)。
