# %% [markdown] tags=["en"]
# # Knowledge distillation
#
# This notebook implements the temperature-scaled distillation loss of *Distilling the Knowledge in a
# Neural Network* (Hinton et al., 2015), checks it against `F.kl_div`, shows why the soft term is
# multiplied by $T^2$, and then distills a teacher into a small student on a synthetic task where soft
# labels carry real information. It illustrates the answers on
# [knowledge distillation](../efficiency.md#knowledge-distillation),
# [temperature](../decoding.md#sampling-temperature), [softmax](../ml-foundations.md#softmax) and
# [KL divergence](../ml-foundations.md#kl-divergence). Every check is an `assert`, so a wrong implementation
# fails the build.

# %% [markdown] tags=["zh"]
# # 知识蒸馏
#
# 本 notebook 实现 *Distilling the Knowledge in a Neural Network*（Hinton 等，2015）中带温度的蒸馏损失，
# 与 `F.kl_div` 对照校验，说明软目标项为什么要乘以 $T^2$，然后在一个软标签确实有信息量的合成任务上，
# 把教师模型蒸馏到一个小的学生模型。对应问答页中的[知识蒸馏](../efficiency.md#knowledge-distillation)、
# [温度](../decoding.md#sampling-temperature)、[softmax](../ml-foundations.md#softmax) 和
# [KL 散度](../ml-foundations.md#kl-divergence)。每项校验都是一条 `assert`，实现有误时构建会直接失败。

# %%
import warnings

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from _figures import show
from torch import nn

torch.manual_seed(0)
torch.set_num_threads(1)  # small models: a second thread only adds overhead
DTYPE = torch.float64  # float64 keeps the comparisons tight


def max_err(a, b):
    return f"max abs error {(a - b).abs().max().item():.1e}"


# %% [markdown] tags=["en"]
# ## The distillation loss { #kd-loss }
#
# With teacher logits $z_t$, student logits $z_s$, temperature $T$, label $y$ and weight $\alpha$:
#
# $$
# \mathcal{L}_{\text{KD}} = \alpha\,T^2\,\mathrm{KL}\big(\operatorname{softmax}(z_t/T)\,\big\|\,\operatorname{softmax}(z_s/T)\big)
# + (1-\alpha)\,\mathrm{CE}\big(y,\ \operatorname{softmax}(z_s)\big).
# $$
#
# The KL is averaged over the examples in the batch. `F.kl_div` takes its arguments in the opposite order
# from the math, `F.kl_div(input=log q, target=p)` $= \mathrm{KL}(p\,\|\,q)$, and only
# `reduction="batchmean"` gives the average over examples: `"mean"` also divides by the number of
# classes.

# %% [markdown] tags=["zh"]
# ## 蒸馏损失 { #kd-loss }
#
# 设教师 logits 为 $z_t$、学生 logits 为 $z_s$、温度为 $T$、标签为 $y$、权重为 $\alpha$：
#
# $$
# \mathcal{L}_{\text{KD}} = \alpha\,T^2\,\mathrm{KL}\big(\operatorname{softmax}(z_t/T)\,\big\|\,\operatorname{softmax}(z_s/T)\big)
# + (1-\alpha)\,\mathrm{CE}\big(y,\ \operatorname{softmax}(z_s)\big).
# $$
#
# KL 在一个 batch 的样本上取平均。`F.kl_div` 的参数顺序与数学写法相反：`F.kl_div(input=log q, target=p)`
# $= \mathrm{KL}(p\,\|\,q)$；而且只有 `reduction="batchmean"` 才是按样本取平均，`"mean"` 还会再除以类别数。

# %%
def soft_target_kl(student_logits, teacher_logits, T):
    """KL(softmax(z_t / T) || softmax(z_s / T)), averaged over the batch, from log-softmax."""
    log_p_teacher = torch.log_softmax(teacher_logits / T, dim=-1)
    log_p_student = torch.log_softmax(student_logits / T, dim=-1)
    return (log_p_teacher.exp() * (log_p_teacher - log_p_student)).sum(-1).mean()


def kd_loss(student_logits, teacher_logits, labels, T, alpha):
    """alpha * T^2 * soft-target KL + (1 - alpha) * cross-entropy with the hard labels."""
    soft = soft_target_kl(student_logits, teacher_logits, T) * T**2
    hard = F.cross_entropy(student_logits, labels)
    return alpha * soft + (1 - alpha) * hard


N, C, T_CHECK, ALPHA_CHECK = 16, 10, 4.0, 0.7
z_student, z_teacher = 3 * torch.randn(N, C, dtype=DTYPE), 3 * torch.randn(N, C, dtype=DTYPE)
y_check = torch.randint(C, (N,))

ours = soft_target_kl(z_student, z_teacher, T_CHECK)
library = F.kl_div(F.log_softmax(z_student / T_CHECK, -1), F.softmax(z_teacher / T_CHECK, -1), reduction="batchmean")
torch.testing.assert_close(ours, library)
print(f"soft-target KL = {ours.item():.5f}, F.kl_div(batchmean) agrees: {max_err(ours, library)}")

with warnings.catch_warnings():  # PyTorch warns that "mean" is not the KL; that is the point here
    warnings.simplefilter("ignore")
    wrong_reduction = F.kl_div(F.log_softmax(z_student / T_CHECK, -1), F.softmax(z_teacher / T_CHECK, -1), reduction="mean")
torch.testing.assert_close(wrong_reduction * C, library)
print(f"reduction='mean' gives {wrong_reduction.item():.5f}: the KL divided by the {C} classes as well")

full = kd_loss(z_student, z_teacher, y_check, T_CHECK, ALPHA_CHECK)
expected = ALPHA_CHECK * T_CHECK**2 * library + (1 - ALPHA_CHECK) * F.cross_entropy(z_student, y_check)
torch.testing.assert_close(full, expected)
same = kd_loss(z_teacher, z_teacher, y_check, T_CHECK, alpha=1.0)
torch.testing.assert_close(same, torch.zeros((), dtype=DTYPE))
print(f"KD loss (T={T_CHECK}, alpha={ALPHA_CHECK}) = {full.item():.4f}; a student equal to the teacher has soft loss 0")

# %% [markdown] tags=["en"]
# ## Why $T^2$ { #why-t-squared }
#
# The gradient of the soft term with respect to a student logit is
#
# $$
# \frac{\partial}{\partial z_{s,i}}\,\mathrm{KL}\big(p_t^{T}\,\|\,p_s^{T}\big) = \frac{1}{T}\big(p^{T}_{s,i} - p^{T}_{t,i}\big),
# \qquad p^{T} = \operatorname{softmax}(z/T).
# $$
#
# For large $T$, $p^{T}_i \approx \frac{1}{C}\big(1 + (z_i - \bar z)/T\big)$, where $\bar z$ is the mean
# logit, so the difference of probabilities is itself $O(1/T)$ and the gradient shrinks like $1/T^2$.
# Multiplying by $T^2$ cancels that: the soft term keeps the same weight relative to the hard term
# whatever $T$ is, and in the limit it becomes logit matching,
# $T^2\,\partial\mathrm{KL}/\partial z_{s,i} \to \frac{1}{C}\big[(z_{s,i} - \bar z_s) - (z_{t,i} - \bar z_t)\big]$.
# We check the exact gradient with autograd, then the scaling and the limit (the distance to it shrinks
# like $1/T$).

# %% [markdown] tags=["zh"]
# ## 为什么乘 $T^2$ { #why-t-squared }
#
# 软目标项对学生某个 logit 的梯度是
#
# $$
# \frac{\partial}{\partial z_{s,i}}\,\mathrm{KL}\big(p_t^{T}\,\|\,p_s^{T}\big) = \frac{1}{T}\big(p^{T}_{s,i} - p^{T}_{t,i}\big),
# \qquad p^{T} = \operatorname{softmax}(z/T).
# $$
#
# $T$ 很大时，$p^{T}_i \approx \frac{1}{C}\big(1 + (z_i - \bar z)/T\big)$（$\bar z$ 是 logits 的均值），
# 概率之差本身也是 $O(1/T)$，于是梯度按 $1/T^2$ 缩小。乘以 $T^2$ 正好抵消：无论 $T$ 取多少，软目标项相对硬标签项的权重都不变；
# 在极限下它变成 logit 匹配（Logit Matching），
# $T^2\,\partial\mathrm{KL}/\partial z_{s,i} \to \frac{1}{C}\big[(z_{s,i} - \bar z_s) - (z_{t,i} - \bar z_t)\big]$。
# 下面先用 autograd 核对精确梯度，再检验缩放关系和极限（与极限的距离按 $1/T$ 缩小）。

# %%
def soft_grad(student_logits, teacher_logits, T):
    """Autograd gradient of the (unscaled) soft-target KL with respect to the student logits."""
    z = student_logits.clone().requires_grad_()
    (grad,) = torch.autograd.grad(soft_target_kl(z, teacher_logits, T), z)
    return grad


for T in (1.0, 4.0):
    analytic = (torch.softmax(z_student / T, -1) - torch.softmax(z_teacher / T, -1)) / (T * N)
    torch.testing.assert_close(soft_grad(z_student, z_teacher, T), analytic)
print("autograd gradient = (p_s - p_t) / (T * batch size) at T = 1 and T = 4")

centered = lambda z: z - z.mean(-1, keepdim=True)  # noqa: E731
logit_matching = (centered(z_student) - centered(z_teacher)) / (C * N)  # the large-T limit

TEMPERATURES = (1.0, 2.0, 4.0, 8.0, 32.0, 128.0)
norms, distance_to_limit = {}, {}
for T in TEMPERATURES:
    grad = soft_grad(z_student, z_teacher, T)
    norms[T] = grad.norm().item()
    distance_to_limit[T] = ((T**2 * grad - logit_matching).norm() / logit_matching.norm()).item()

print(f"{'T':>5} {'|grad KL|':>11} {'|grad T^2 KL|':>14} {'rel. distance to logit matching':>32}")
for T in TEMPERATURES:
    print(f"{T:5.0f} {norms[T]:11.2e} {T**2 * norms[T]:14.4f} {distance_to_limit[T]:32.4f}")

# without T^2 the gradient falls roughly like 1/T^2; with it, it settles on the logit-matching gradient
assert norms[4.0] / norms[128.0] > 0.5 * (128 / 4) ** 2
assert 0.9 < (128**2 * norms[128.0]) / (32**2 * norms[32.0]) < 1.1
assert all(distance_to_limit[a] > distance_to_limit[b] for a, b in zip(TEMPERATURES[2:], TEMPERATURES[3:]))
assert distance_to_limit[128.0] < 0.05

# %% [markdown] tags=["en"]
# ## A task where soft labels carry information { #task }
#
# Soft labels help when the wrong classes are not all equally wrong. The task has 30 classes in 6
# groups of 5 similar classes (think "dog breeds" inside "animals"): each class is a Gaussian blob in
# $\mathbb{R}^{20}$ whose mean is its group's mean plus a smaller class-specific offset. Classes in a group
# overlap; groups barely do.
#
# - **Teacher:** an MLP with 64 hidden units, trained on 100 examples per class.
# - **Students:** MLPs with 16 hidden units, trained on only 3 examples per class (90 in all), for the
#   same number of steps from the same initialization: one on the hard labels, one with the KD loss
#   ($T = 4$, $\alpha = 0.9$) using the teacher's logits on those same 90 examples.
#
# Everything is evaluated on 3000 held-out examples.

# %% [markdown] tags=["zh"]
# ## 软标签有信息量的任务 { #task }
#
# 只有当错误类别「错得不一样」时，软标签才有用。这个任务有 30 个类别，分成 6 组，每组 5 个相似的类别
# （可以想成「动物」下面的各个「狗的品种」）：每个类别是 $\mathbb{R}^{20}$ 中的一团高斯分布，均值等于所在组的均值加上一个较小的类别偏移。
# 同组的类别相互重叠，不同组之间几乎不重叠。
#
# - **教师：** 有 64 个隐藏单元的 MLP，每类 100 个训练样本。
# - **学生：** 有 16 个隐藏单元的 MLP，每类只有 3 个训练样本（共 90 个），训练步数和初始化都相同：
#   一个只用硬标签，另一个用 KD 损失（$T = 4$，$\alpha = 0.9$），其中教师 logits 就在这 90 个样本上计算。
#
# 所有模型都在 3000 个留出样本上评估。

# %%
N_GROUPS, PER_GROUP, N_FEATURES = 6, 5, 20
N_CLASSES = N_GROUPS * PER_GROUP
NOISE = 0.6

task_rng = torch.Generator().manual_seed(0)
group_means = 3.0 * torch.randn(N_GROUPS, N_FEATURES, generator=task_rng) / N_FEATURES**0.5
class_offsets = 1.5 * torch.randn(N_GROUPS, PER_GROUP, N_FEATURES, generator=task_rng) / N_FEATURES**0.5
class_means = (group_means.unsqueeze(1) + class_offsets).reshape(N_CLASSES, N_FEATURES)
group_of = torch.arange(N_CLASSES) // PER_GROUP  # class c belongs to group c // 5


def sample(per_class, rng):
    """per_class examples of every class: features (n, 20) and labels (n,)."""
    labels = torch.arange(N_CLASSES).repeat_interleave(per_class)
    return class_means[labels] + NOISE * torch.randn(len(labels), N_FEATURES, generator=rng), labels


def mlp(hidden):
    return nn.Sequential(nn.Linear(N_FEATURES, hidden), nn.ReLU(), nn.Linear(hidden, N_CLASSES))


def train(model, x, y, loss_fn, steps, lr=1e-2):
    """Full-batch Adam on loss_fn(logits, labels)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


@torch.no_grad()
def accuracy(model, x, y):
    return (model(x).argmax(-1) == y).float().mean().item()


x_teacher, y_teacher = sample(100, task_rng)
x_test, y_test = sample(100, task_rng)
teacher = train(mlp(64), x_teacher, y_teacher, F.cross_entropy, steps=150)
teacher_acc = accuracy(teacher, x_test, y_test)
nearest_mean = (torch.cdist(x_test, class_means).argmin(-1) == y_test).float().mean().item()
print(f"teacher held-out accuracy {teacher_acc:.3f} (nearest true class mean, the ideal classifier here: {nearest_mean:.3f})")
assert teacher_acc > 0.75

# %% [markdown] tags=["en"]
# ## Soft labels at $T = 1$ and $T = 4$ { #soft-labels }
#
# The bars average the teacher's distribution over the held-out examples of class 3. At $T = 1$ the
# teacher is confident and the bars for the wrong classes are small. At $T = 4$ the same logits give a
# flatter distribution in which the other classes of the same group stand out: that is the "dark
# knowledge" a one-hot label cannot carry. We measure it over the whole held-out set as the average
# probability given to each sibling class versus each class of another group.

# %% [markdown] tags=["zh"]
# ## $T = 1$ 与 $T = 4$ 时的软标签 { #soft-labels }
#
# 图中的柱子是教师在类别 3 的留出样本上给出的分布的平均。$T = 1$ 时教师很自信，错误类别的柱子很矮。
# $T = 4$ 时，同样的 logits 给出更平坦的分布，同组的其他类别明显高出一截：这就是 one-hot 标签无法携带的
# 「暗知识」（Dark Knowledge）。我们在整个留出集上度量它：教师平均分给每个同组类别的概率，与分给每个异组类别的概率相比。

# %%
with torch.no_grad():
    test_logits = teacher(x_test)

same_group = group_of.unsqueeze(0) == group_of[y_test].unsqueeze(1)  # (n, classes)
is_true = F.one_hot(y_test, N_CLASSES).bool()
siblings, others = same_group & ~is_true, ~same_group


def mean_prob(probs, where):
    """Average probability per class over the (example, class) cells selected by `where`."""
    return (probs * where).sum().item() / where.sum().item()


print(f"{'T':>3} {'true class':>11} {'each sibling':>13} {'each other':>11}")
dark_knowledge = {}
for T in (1.0, 4.0):
    probs = torch.softmax(test_logits / T, -1)
    dark_knowledge[T] = mean_prob(probs, siblings) / mean_prob(probs, others)
    print(f"{T:3.0f} {mean_prob(probs, is_true):11.3f} {mean_prob(probs, siblings):13.4f} {mean_prob(probs, others):11.5f}")
print(f"at T=4 a sibling gets {dark_knowledge[4.0]:.0f}x the probability of a class from another group")
assert dark_knowledge[4.0] > 5

# %%
SHOWN_CLASS = 3  # group 0 holds classes 0-4
shown = y_test == SHOWN_CLASS
SOFT_LABELS = {
    "en": {"cls": "class", "prob": "mean teacher probability", "title": f"held-out examples of class {SHOWN_CLASS}",
           "true": "true class", "sib": "same group", "other": "other groups"},
    "zh": {"cls": "类别", "prob": "教师给出的平均概率", "title": f"类别 {SHOWN_CLASS} 的留出样本",
           "true": "真实类别", "sib": "同组类别", "other": "其他组"},
}


def draw_soft_labels(lang):
    labels = SOFT_LABELS[lang]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.2), layout="constrained", sharey=True)
    kind = ["true" if c == SHOWN_CLASS else "sib" if group_of[c] == group_of[SHOWN_CLASS] else "other"
            for c in range(N_CLASSES)]
    palette = {"true": "tab:red", "sib": "tab:orange", "other": "tab:gray"}
    for ax, T in zip(axes, (1.0, 4.0)):
        probs = torch.softmax(test_logits[shown] / T, -1).mean(0)
        ax.bar(range(N_CLASSES), probs, color=[palette[k] for k in kind])
        ax.set(title=f"$T = {T:.0f}$", xlabel=labels["cls"], ylim=(0, 1))
        ax.set_xticks(range(0, N_CLASSES, PER_GROUP))
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel(labels["prob"])
    fig.suptitle(labels["title"])
    handles = [plt.Rectangle((0, 0), 1, 1, color=palette[k]) for k in ("true", "sib", "other")]
    axes[1].legend(handles, [labels[k] for k in ("true", "sib", "other")])
    return fig


show(draw_soft_labels)

# %% [markdown] tags=["en"]
# ## Hard labels versus distillation { #distill }
#
# Each run draws a new set of 90 training examples and a new initialization; the hard-label student
# and the distilled student share both. With 3 examples per class the hard-label student overfits: it
# learns to separate 90 points. The distilled student also learns, for every example, how much it
# resembles each of the 30 classes, which pins down the decision boundaries between similar classes. We
# run 4 seeds and also try other temperatures.

# %% [markdown] tags=["zh"]
# ## 硬标签与蒸馏的对比 { #distill }
#
# 每次运行重新抽取 90 个训练样本和一组新的初始化；硬标签学生和蒸馏学生共用这两者。每类只有 3 个样本时，
# 硬标签学生会过拟合：它学到的只是把 90 个点分开。蒸馏学生还从每个样本学到它与 30 个类别各自有多像，
# 这就把相似类别之间的决策边界定了下来。我们跑 4 个随机种子，并尝试其他温度。

# %%
SEEDS, STUDENT_STEPS, STUDENT_HIDDEN, ALPHA = range(4), 200, 16, 0.9
KD_TEMPERATURES = (1.0, 2.0, 4.0, 8.0)


def student_accuracies(seed):
    """Held-out accuracy of the hard-label student and of distilled students at each temperature."""
    x, y = sample(3, torch.Generator().manual_seed(1000 + seed))
    with torch.no_grad():
        teacher_logits = teacher(x)
    runs = {"hard": lambda z, labels: F.cross_entropy(z, labels)}
    for T in KD_TEMPERATURES:
        runs[T] = lambda z, labels, T=T: kd_loss(z, teacher_logits, labels, T, ALPHA)
    result = {}
    for name, loss_fn in runs.items():
        torch.manual_seed(seed)  # the same initialization for every student of this seed
        result[name] = accuracy(train(mlp(STUDENT_HIDDEN), x, y, loss_fn, STUDENT_STEPS), x_test, y_test)
    return result


results = [student_accuracies(seed) for seed in SEEDS]
mean_acc = {name: sum(r[name] for r in results) / len(results) for name in results[0]}
gains = [r[4.0] - r["hard"] for r in results]

print("seed   hard  " + "  ".join(f"KD T={T:<3.0f}" for T in KD_TEMPERATURES))
for seed, r in zip(SEEDS, results):
    print(f"{seed:>4}  {r['hard']:.3f}  " + "  ".join(f"{r[T]:8.3f}" for T in KD_TEMPERATURES))
print(f"mean  {mean_acc['hard']:.3f}  " + "  ".join(f"{mean_acc[T]:8.3f}" for T in KD_TEMPERATURES))
print(f"teacher {teacher_acc:.3f}; distilled (T=4) minus hard-label: mean {sum(gains) / len(gains):+.3f}, "
      f"smallest {min(gains):+.3f}")

assert mean_acc[4.0] - mean_acc["hard"] > 0.08, mean_acc
assert min(gains) > 0, gains
assert mean_acc[4.0] > mean_acc[1.0] > mean_acc["hard"], mean_acc

# %%
ACC_LABELS = {
    "en": {"T": "distillation temperature $T$", "acc": "held-out accuracy (mean of 4 seeds)",
           "hard": "student, hard labels only", "kd": "distilled student", "teacher": "teacher"},
    "zh": {"T": "蒸馏温度 $T$", "acc": "留出集准确率（4 个种子的平均）",
           "hard": "学生（只用硬标签）", "kd": "蒸馏学生", "teacher": "教师"},
}


def draw_accuracy(lang):
    labels = ACC_LABELS[lang]
    fig, ax = plt.subplots(figsize=(5.5, 3.4), layout="constrained")
    ax.plot(KD_TEMPERATURES, [mean_acc[T] for T in KD_TEMPERATURES], "o-", label=labels["kd"])
    ax.axhline(mean_acc["hard"], color="tab:gray", ls="--", label=labels["hard"])
    ax.axhline(teacher_acc, color="tab:green", ls=":", label=labels["teacher"])
    ax.set(xscale="log", xlabel=labels["T"], ylabel=labels["acc"], ylim=(0, 1))
    ax.set_xticks(KD_TEMPERATURES, [f"{T:.0f}" for T in KD_TEMPERATURES])
    ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    return fig


show(draw_accuracy)

# %% [markdown] tags=["en"]
# With the same 90 examples, the same steps and the same initialization, the distilled student closes
# much of the gap between the hard-label student and the teacher. Soft targets already help at $T = 1$,
# but there the teacher gives each sibling class only about 5%, so the signal is still mostly the true
# class; $T = 4$ or $8$ brings the similarity structure forward. A much higher $T$ would flatten the
# targets toward uniform and amplify the teacher's noise. Thanks to the $T^2$ factor, the soft term has
# the same weight at every temperature, so the comparison is fair.

# %% [markdown] tags=["zh"]
# 在相同的 90 个样本、相同的步数和相同的初始化下，蒸馏学生弥补了硬标签学生与教师之间的大部分差距。
# $T = 1$ 时软目标已经有帮助，但此时教师给每个同组类别的概率只有 5% 左右，信号主要还是来自真实类别；
# $T = 4$ 或 $8$ 才把相似性结构凸显出来。$T$ 再大，目标会被压平到接近均匀分布，并放大教师的噪声。
# 由于乘了 $T^2$，软目标项在各个温度下的权重相同，这样的比较才公平。

# %% [markdown] tags=["en"]
# ## Takeaways { #takeaways }
#
# - The KD loss is $\alpha T^2\,\mathrm{KL}(p_t^T\,\|\,p_s^T) + (1-\alpha)\,\mathrm{CE}$; in PyTorch that is
#   `F.kl_div(log_softmax(z_s / T), softmax(z_t / T), reduction="batchmean") * T**2`.
# - The soft term's gradient shrinks like $1/T^2$; the $T^2$ factor keeps its weight fixed, and as
#   $T \to \infty$ distillation becomes matching centered logits.
# - Temperature exposes how the teacher ranks the wrong classes; when those rankings reflect real
#   similarity, a student trained on them generalizes far better from few examples.
#
# Back to the questions: [knowledge distillation](../efficiency.md#knowledge-distillation) ·
# [temperature](../decoding.md#sampling-temperature) · [softmax](../ml-foundations.md#softmax) ·
# [KL divergence](../ml-foundations.md#kl-divergence).

# %% [markdown] tags=["zh"]
# ## 小结 { #takeaways }
#
# - KD 损失是 $\alpha T^2\,\mathrm{KL}(p_t^T\,\|\,p_s^T) + (1-\alpha)\,\mathrm{CE}$；在 PyTorch 中软目标项写作
#   `F.kl_div(log_softmax(z_s / T), softmax(z_t / T), reduction="batchmean") * T**2`。
# - 软目标项的梯度按 $1/T^2$ 缩小；乘以 $T^2$ 让它的权重保持不变，$T \to \infty$ 时蒸馏退化为匹配中心化的 logits。
# - 温度把教师对错误类别的排序暴露出来；当这种排序反映真实的相似性时，用它训练的学生只需少量样本就能泛化得好得多。
#
# 回到问答页：[知识蒸馏](../efficiency.md#knowledge-distillation) ·
# [温度](../decoding.md#sampling-temperature) · [softmax](../ml-foundations.md#softmax) ·
# [KL 散度](../ml-foundations.md#kl-divergence)。
