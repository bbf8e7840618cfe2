# %% [markdown] tags=["en"]
# # Alignment losses on toy tensors
#
# This notebook implements the losses of preference alignment on small tensors and checks each against
# PyTorch or against a property it must have: the Bradley–Terry loss of a
# [reward model](../fine-tuning-alignment.md#reward-model) (and a tiny reward model trained with it), the
# clipped surrogate objective of [PPO in RLHF](../fine-tuning-alignment.md#ppo-in-rlhf), the KL-penalized
# reward of the [RLHF pipeline](../fine-tuning-alignment.md#rlhf-pipeline), and the
# [DPO](../fine-tuning-alignment.md#dpo) loss computed from sequence log-probabilities. Every check is an
# `assert`, so a wrong implementation fails the build.

# %% [markdown] tags=["zh"]
# # 用小张量实现对齐损失
#
# 本 notebook 在小张量上实现偏好对齐（Preference Alignment）用到的几个损失，并逐一与 PyTorch 或其应满足的性质对照：
# [奖励模型](../fine-tuning-alignment.md#reward-model)的 Bradley–Terry 损失（并用它训练一个很小的奖励模型）、
# [RLHF 中 PPO](../fine-tuning-alignment.md#ppo-in-rlhf) 的裁剪替代目标（Clipped Surrogate Objective）、
# [RLHF 流程](../fine-tuning-alignment.md#rlhf-pipeline)中带 KL 惩罚的奖励，以及由序列对数概率计算的
# [DPO](../fine-tuning-alignment.md#dpo) 损失。每项校验都是一条 `assert`，实现有误时构建会直接失败。

# %%
import math

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from _figures import show

torch.manual_seed(0)
torch.set_num_threads(1)  # tiny tensors: a second thread only adds overhead
DTYPE = torch.float64  # float64 keeps the comparisons tight


def max_err(a, b):
    return f"max abs error {(a - b).abs().max().item():.1e}"


# %% [markdown] tags=["en"]
# ## Bradley–Terry loss { #bradley-terry }
#
# A reward model $r_\phi(x, y)$ gives one number per (prompt, response). The Bradley–Terry model says
# that the probability that the chosen response $y_w$ beats the rejected one $y_l$ depends only on the
# difference of their rewards, and the loss is the negative log-likelihood of the human choice:
#
# $$
# P(y_w \succ y_l \mid x) = \sigma\big(r_w - r_l\big),\qquad
# \mathcal{L}_{\text{BT}} = -\log\sigma\big(r_w - r_l\big) = \log\big(1 + e^{-(r_w - r_l)}\big).
# $$
#
# Written naively, `-log(sigmoid(d))` fails for a large negative margin $d$: $\sigma(d)$ underflows to 0
# and the loss becomes $\infty$. The stable form is $\max(-d, 0) + \log(1 + e^{-|d|})$. It must equal
# `-F.logsigmoid(d)` and binary cross-entropy with logits $d$ and target 1 (the chosen response is
# "class 1").

# %% [markdown] tags=["zh"]
# ## Bradley–Terry 损失 { #bradley-terry }
#
# 奖励模型（Reward Model）$r_\phi(x, y)$ 给每个（提示，回答）打一个分数。Bradley–Terry 模型假设被选中的回答
# $y_w$ 胜过被拒绝的回答 $y_l$ 的概率只取决于两者奖励之差，损失就是人类选择的负对数似然：
#
# $$
# P(y_w \succ y_l \mid x) = \sigma\big(r_w - r_l\big),\qquad
# \mathcal{L}_{\text{BT}} = -\log\sigma\big(r_w - r_l\big) = \log\big(1 + e^{-(r_w - r_l)}\big).
# $$
#
# 直接写成 `-log(sigmoid(d))` 时，若差值 $d$ 是很大的负数，$\sigma(d)$ 会下溢为 0，损失变成 $\infty$。
# 稳定的写法是 $\max(-d, 0) + \log(1 + e^{-|d|})$。它应当等于 `-F.logsigmoid(d)`，也等于以 $d$ 为 logit、
# 目标为 1 的二元交叉熵（把被选中的回答看作「类别 1」）。

# %%
def bradley_terry_loss(r_chosen, r_rejected):
    """Mean of -log sigmoid(r_chosen - r_rejected), computed without overflow or underflow."""
    d = r_chosen - r_rejected
    return (torch.clamp(-d, min=0) + torch.log1p(torch.exp(-d.abs()))).mean()


r_chosen, r_rejected = torch.randn(64, dtype=DTYPE), torch.randn(64, dtype=DTYPE)
margin = r_chosen - r_rejected
ours = bradley_terry_loss(r_chosen, r_rejected)
via_logsigmoid = -F.logsigmoid(margin).mean()
via_bce = F.binary_cross_entropy_with_logits(margin, torch.ones_like(margin))
torch.testing.assert_close(ours, via_logsigmoid)
torch.testing.assert_close(ours, via_bce)
print(f"BT loss {ours.item():.6f} = -logsigmoid form ({max_err(ours, via_logsigmoid)}) = BCE-with-logits form")

# a margin of 0 (the model cannot tell the two apart) costs log 2; adding a constant to every reward changes nothing
tie = torch.zeros(5, dtype=DTYPE)
torch.testing.assert_close(bradley_terry_loss(tie, tie), torch.tensor(math.log(2), dtype=DTYPE))
torch.testing.assert_close(bradley_terry_loss(r_chosen + 7.0, r_rejected + 7.0), ours)
print(f"margin 0 -> loss log 2 = {math.log(2):.4f}; shifting all rewards by a constant leaves the loss unchanged")

# extreme margins in float32: the naive form breaks, the stable one does not
very_wrong = torch.tensor([-200.0])  # the rejected response scores 200 higher
naive = -torch.log(torch.sigmoid(very_wrong))
stable = bradley_terry_loss(very_wrong, torch.zeros(1))
assert torch.isinf(naive).all() and stable.item() == 200.0
torch.testing.assert_close(stable, -F.logsigmoid(very_wrong).mean())
print(f"margin -200 in float32: naive -log(sigmoid) = {naive.item()}, stable loss = {stable.item()}")

# %% [markdown] tags=["en"]
# The gradient explains how the loss trains: $\partial\mathcal{L}_{\text{BT}}/\partial r_w = -\sigma(r_l - r_w)$
# and $\partial\mathcal{L}_{\text{BT}}/\partial r_l = +\sigma(r_l - r_w)$. A pair the model already ranks
# correctly by a wide margin contributes almost nothing; a pair it gets wrong contributes up to 1.

# %% [markdown] tags=["zh"]
# 梯度说明了这个损失如何训练模型：$\partial\mathcal{L}_{\text{BT}}/\partial r_w = -\sigma(r_l - r_w)$，
# $\partial\mathcal{L}_{\text{BT}}/\partial r_l = +\sigma(r_l - r_w)$。模型已经以很大差值排对的样本对几乎不贡献梯度；
# 排错的样本对贡献最大，接近 1。

# %%
r_w = r_chosen.clone().requires_grad_()
r_l = r_rejected.clone().requires_grad_()
(bradley_terry_loss(r_w, r_l) * len(r_w)).backward()  # sum, so each pair's gradient is not divided by the batch
torch.testing.assert_close(r_w.grad, -torch.sigmoid(r_rejected - r_chosen))
torch.testing.assert_close(r_l.grad, torch.sigmoid(r_rejected - r_chosen))
print("autograd matches dL/dr_w = -sigmoid(r_l - r_w) and dL/dr_l = +sigmoid(r_l - r_w)")

# %% [markdown] tags=["en"]
# ## Training a tiny reward model { #train-reward-model }
#
# We simulate the whole preference pipeline. Each response is a feature vector $h \in \mathbb{R}^{16}$
# (think of the last hidden state of the language model), and a hidden true reward $r^*(h) = w^{*\top}h$
# decides quality. Simulated labelers compare two responses and pick the better one with the
# Bradley–Terry probability $\sigma(r^*(h_a) - r^*(h_b))$, so they sometimes pick the worse one, as real
# labelers do. A linear reward model $r_\phi(h) = \phi^\top h$ (no bias: the loss cannot see one) is
# trained on 2000 labeled pairs and evaluated on 2000 held-out pairs.
#
# Two accuracies matter. Against the **true** ranking, the reward model should be right on more than
# 90% of held-out pairs. Against the **noisy** held-out labels, no model can beat the true reward
# itself: that ceiling is the labelers' agreement with the truth.

# %% [markdown] tags=["zh"]
# ## 训练一个很小的奖励模型 { #train-reward-model }
#
# 我们模拟整个偏好数据流程。每个回答是一个特征向量 $h \in \mathbb{R}^{16}$（可以想成语言模型最后一层的隐藏状态），
# 回答的好坏由隐藏的真实奖励 $r^*(h) = w^{*\top}h$ 决定。模拟的标注员比较两个回答，以 Bradley–Terry 概率
# $\sigma(r^*(h_a) - r^*(h_b))$ 选出较好的那个，因此和真实标注员一样，偶尔会选错。线性奖励模型
# $r_\phi(h) = \phi^\top h$ 不带偏置（损失对常数偏移不敏感，偏置学不出来），在 2000 个带标注的样本对上训练，
# 在另外 2000 个留出样本对上评估。
#
# 这里有两种准确率。相对**真实**排序，奖励模型在留出样本对上应答对 90% 以上。相对**带噪声**的留出标注，
# 任何模型都不可能超过真实奖励本身：这个上限就是标注员与真实排序的一致率。

# %%
N_FEATURES, N_PAIRS = 16, 2000
w_true = torch.randn(N_FEATURES)
w_true = 2.0 * w_true / w_true.norm()  # reward gaps of a few units: labels are informative but noisy


def labeled_pairs(n):
    """n pairs of response features; label 1 means the labeler preferred the first response."""
    h_a, h_b = torch.randn(n, N_FEATURES), torch.randn(n, N_FEATURES)
    p_a_wins = torch.sigmoid(h_a @ w_true - h_b @ w_true)
    return h_a, h_b, torch.bernoulli(p_a_wins)


def as_chosen_rejected(h_a, h_b, label):
    """Reorder each pair so that the first element is the labeler's choice."""
    first_won = label.bool().unsqueeze(-1)
    return torch.where(first_won, h_a, h_b), torch.where(first_won, h_b, h_a)


train_chosen, train_rejected = as_chosen_rejected(*labeled_pairs(N_PAIRS))
test_a, test_b, test_label = labeled_pairs(N_PAIRS)

phi = torch.zeros(N_FEATURES, requires_grad=True)
optimizer = torch.optim.Adam([phi], lr=0.05)
for step in range(300):
    loss = bradley_terry_loss(train_chosen @ phi, train_rejected @ phi)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
phi = phi.detach()


def ranking_accuracy(w, h_a, h_b, a_is_better):
    """Fraction of pairs where reward weights w order (h_a, h_b) as a_is_better says."""
    return ((h_a @ w > h_b @ w) == a_is_better.bool()).float().mean().item()


truly_a_better = (test_a @ w_true > test_b @ w_true).float()
acc_true = ranking_accuracy(phi, test_a, test_b, truly_a_better)
acc_labels = ranking_accuracy(phi, test_a, test_b, test_label)
ceiling = ranking_accuracy(w_true, test_a, test_b, test_label)
cosine = F.cosine_similarity(phi, w_true, dim=0).item()
print(f"final training loss {loss.item():.3f}")
print(f"held-out accuracy vs the true ranking: {acc_true:.3f}")
print(f"held-out agreement with noisy labels: {acc_labels:.3f} (the true reward itself: {ceiling:.3f})")
print(f"cosine(phi, w*) = {cosine:.3f}, |phi| / |w*| = {(phi.norm() / w_true.norm()).item():.2f}")

assert acc_true > 0.9, acc_true
assert cosine > 0.95, cosine
assert abs(acc_labels - ceiling) < 0.03, (acc_labels, ceiling)

# %% [markdown] tags=["en"]
# The reward model recovers the direction of $w^*$ and ranks held-out pairs almost perfectly, while its
# agreement with the noisy labels sits at the ceiling, not at 100%. Because the simulated labels follow
# the Bradley–Terry model exactly, maximum likelihood also recovers the scale of $w^*$; with real labels
# only the ranking and the reward differences are meaningful, which is why rewards are normalized
# before RL.

# %% [markdown] tags=["zh"]
# 奖励模型恢复出了 $w^*$ 的方向，在留出样本对上的排序几乎全对；而它与噪声标注的一致率停在上限附近，而不是 100%。
# 由于模拟标注严格服从 Bradley–Terry 模型，最大似然估计连 $w^*$ 的尺度也能恢复；对真实标注来说，
# 只有排序和奖励差值有意义，所以进入强化学习之前要先对奖励做归一化。

# %% [markdown] tags=["en"]
# ## PPO's clipped surrogate objective { #ppo-clip }
#
# PPO works on the log-probabilities of the tokens the old policy sampled. With the ratio
# $\rho_t = \pi_\theta(a_t\mid s_t)/\pi_{\theta_{\text{old}}}(a_t\mid s_t) = \exp(\log\pi_\theta - \log\pi_{\theta_{\text{old}}})$
# and the advantage $\hat A_t$:
#
# $$
# L^{\text{CLIP}} = \mathbb{E}_t\Big[\min\big(\rho_t\hat A_t,\ \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\,\hat A_t\big)\Big],
# \qquad \epsilon = 0.2 .
# $$
#
# The objective is maximized, so the loss is its negative, averaged over the real (unpadded) tokens.
# Per token the minimum is a simple piecewise function: $\min(\rho_t, 1+\epsilon)\hat A_t$ if
# $\hat A_t > 0$ and $\max(\rho_t, 1-\epsilon)\hat A_t$ if $\hat A_t < 0$. We check the implementation
# against that form.

# %% [markdown] tags=["zh"]
# ## PPO 的裁剪替代目标 { #ppo-clip }
#
# PPO 作用在旧策略采样出的 token 的对数概率上。记概率比
# $\rho_t = \pi_\theta(a_t\mid s_t)/\pi_{\theta_{\text{old}}}(a_t\mid s_t) = \exp(\log\pi_\theta - \log\pi_{\theta_{\text{old}}})$，
# 优势（Advantage）为 $\hat A_t$：
#
# $$
# L^{\text{CLIP}} = \mathbb{E}_t\Big[\min\big(\rho_t\hat A_t,\ \operatorname{clip}(\rho_t, 1-\epsilon, 1+\epsilon)\,\hat A_t\big)\Big],
# \qquad \epsilon = 0.2 .
# $$
#
# 目标是要最大化的，所以损失取它的相反数，并只在真实（非填充）token 上取平均。逐 token 来看，这个最小值是一个简单的分段函数：
# $\hat A_t > 0$ 时为 $\min(\rho_t, 1+\epsilon)\hat A_t$，$\hat A_t < 0$ 时为 $\max(\rho_t, 1-\epsilon)\hat A_t$。
# 下面用这个形式核对实现。

# %%
EPS = 0.2


def token_logprobs(logits, tokens):
    """log pi(token) at every position: logits (..., T, V), tokens (..., T) -> (..., T)."""
    return torch.log_softmax(logits, dim=-1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1)


def ppo_clip_objective(logp_new, logp_old, advantages, eps=EPS):
    """Per-token min(rho * A, clip(rho, 1 - eps, 1 + eps) * A)."""
    ratio = torch.exp(logp_new - logp_old)
    return torch.min(ratio * advantages, torch.clamp(ratio, 1 - eps, 1 + eps) * advantages)


def ppo_loss(logp_new, logp_old, advantages, mask, eps=EPS):
    """Negative clipped objective, averaged over the real tokens (mask = 1)."""
    return -(ppo_clip_objective(logp_new, logp_old, advantages, eps) * mask).sum() / mask.sum()


B, T, V = 4, 8, 10  # responses, tokens per response, vocabulary
logits_old = torch.randn(B, T, V, dtype=DTYPE)
tokens = torch.distributions.Categorical(logits=logits_old).sample()  # the rollout
# a few updates later the policy has moved: some ratios fall far outside [0.8, 1.2]
policy_logits = (logits_old + 0.6 * torch.randn(B, T, V, dtype=DTYPE)).requires_grad_()
logp_old = token_logprobs(logits_old, tokens)
logp_new = token_logprobs(policy_logits, tokens)
advantages = torch.randn(B, T, dtype=DTYPE)
lengths = torch.tensor([8, 6, 5, 3])
mask = (torch.arange(T) < lengths.unsqueeze(1)).to(DTYPE)  # padding after each response

ratio = torch.exp(logp_new - logp_old).detach()
piecewise = torch.where(advantages > 0, torch.clamp(ratio, max=1 + EPS), torch.clamp(ratio, min=1 - EPS)) * advantages
torch.testing.assert_close(ppo_clip_objective(logp_new, logp_old, advantages).detach(), piecewise)
print(f"clipped objective matches the piecewise form; ratios range over [{ratio.min():.2f}, {ratio.max():.2f}]")

# %% [markdown] tags=["en"]
# **Where the gradient vanishes.** If the ratio has already moved past $1+\epsilon$ for a token with
# $\hat A_t > 0$ (or below $1-\epsilon$ with $\hat A_t < 0$), the clipped term is the minimum and it is
# constant in $\theta$: that token's gradient is exactly zero, so the update cannot push it further.
# Everywhere else the gradient with respect to $\log\pi_\theta(a_t)$ is the plain policy-gradient term
# $\rho_t \hat A_t$ (divided by the number of tokens). That includes a ratio outside the range in the
# *other* direction: PPO always lets the update undo a move that made things worse. We backpropagate all
# the way to the policy logits and check both cases, plus zero gradient on padding.

# %% [markdown] tags=["zh"]
# **梯度在哪里消失。** 如果某个 token 的 $\hat A_t > 0$ 且比值已经超过 $1+\epsilon$（或 $\hat A_t < 0$ 且比值已低于
# $1-\epsilon$），取到最小值的是裁剪项，它与 $\theta$ 无关：这个 token 的梯度恰好为零，更新不会再把它往同一方向推。
# 其余情况下，对 $\log\pi_\theta(a_t)$ 的梯度就是普通的策略梯度项 $\rho_t \hat A_t$（再除以 token 数）。
# 这也包括比值朝*另一个*方向越界的情况：PPO 总是允许更新撤回一次让结果变差的移动。
# 下面一直反向传播到策略的 logits，检查这两种情况，以及填充位置的梯度为零。

# %%
logp_leaf = logp_new.detach().requires_grad_()
ppo_loss(logp_leaf, logp_old, advantages, mask).backward()
ppo_loss(logp_new, logp_old, advantages, mask).backward()  # through log_softmax to the logits

clipped = ((advantages > 0) & (ratio > 1 + EPS)) | ((advantages < 0) & (ratio < 1 - EPS))
real = mask.bool()
expected = torch.where(clipped, 0.0, -ratio * advantages) * mask / mask.sum()
torch.testing.assert_close(logp_leaf.grad, expected)

logit_grad_norm = policy_logits.grad.norm(dim=-1)  # each position's logits only affect that position's token
assert (logit_grad_norm[clipped & real] == 0).all() and (logit_grad_norm[~real] == 0).all()
assert (logit_grad_norm[~clipped & real] > 0).all()
wrong_side = ((advantages > 0) & (ratio < 1 - EPS)) | ((advantages < 0) & (ratio > 1 + EPS))
assert (wrong_side & real).any() and (logit_grad_norm[wrong_side & real] > 0).all()
print(f"{(clipped & real).sum().item()} of {real.sum().item()} real tokens are clipped: their logit gradients are exactly 0")
print(f"{(wrong_side & real).sum().item()} tokens are outside the range on the wrong side: they keep a gradient")

# %%
CLIP_LABELS = {
    "en": {"ratio": r"ratio $\rho_t$", "obj": r"$L^{\mathrm{CLIP}}$ per token", "flat": "zero gradient",
           "pos": r"$\hat A_t = +1$", "neg": r"$\hat A_t = -1$", "unclipped": r"$\rho_t \hat A_t$"},
    "zh": {"ratio": r"概率比 $\rho_t$", "obj": r"单个 token 的 $L^{\mathrm{CLIP}}$", "flat": "梯度为零",
           "pos": r"$\hat A_t = +1$", "neg": r"$\hat A_t = -1$", "unclipped": r"$\rho_t \hat A_t$"},
}


def draw_clip(lang):
    labels = CLIP_LABELS[lang]
    rho = torch.linspace(0.0, 2.0, 401, dtype=DTYPE)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained", sharey=True)
    for ax, adv, title in ((axes[0], 1.0, labels["pos"]), (axes[1], -1.0, labels["neg"])):
        a = torch.full_like(rho, adv)
        objective = ppo_clip_objective(rho.log(), torch.zeros_like(rho), a)
        ax.plot(rho, rho * adv, ":", color="gray", label=labels["unclipped"])
        ax.plot(rho, objective, lw=2, label=r"$L^{\mathrm{CLIP}}$")
        flat = (rho > 1 + EPS) if adv > 0 else (rho < 1 - EPS)
        ax.fill_between(rho, -2.2, 2.2, where=flat, color="tab:red", alpha=0.12, label=labels["flat"])
        for edge in (1 - EPS, 1 + EPS):
            ax.axvline(edge, color="black", lw=0.8, ls="--")
        ax.set(title=title, xlabel=labels["ratio"], ylim=(-2.2, 2.2))
        ax.grid(alpha=0.3)
        ax.legend(loc="upper left" if adv > 0 else "upper right")
    axes[0].set_ylabel(labels["obj"])
    return fig


show(draw_clip)

# %% [markdown] tags=["en"]
# The dashed lines are $1 \pm \epsilon$. For a good token ($\hat A_t > 0$) the objective stops rising at
# $\rho_t = 1.2$; for a bad token ($\hat A_t < 0$) it stops rising at $\rho_t = 0.8$. Outside the shaded
# regions the objective follows $\rho_t\hat A_t$, so the update can always move back toward the old
# policy.

# %% [markdown] tags=["zh"]
# 虚线是 $1 \pm \epsilon$。对好的 token（$\hat A_t > 0$），目标在 $\rho_t = 1.2$ 之后不再上升；对差的 token
# （$\hat A_t < 0$），目标在 $\rho_t = 0.8$ 之后不再上升。阴影区之外，目标沿 $\rho_t\hat A_t$ 变化，
# 因此更新总能往旧策略的方向退回。

# %% [markdown] tags=["en"]
# ## KL-penalized reward { #kl-penalty }
#
# In RLHF the policy maximizes the reward model's score minus a KL penalty to the frozen reference
# (SFT) model: $r(x, y) - \beta\,\mathrm{KL}\big(\pi_\theta(\cdot\mid x)\,\|\,\pi_{\text{ref}}(\cdot\mid x)\big)$.
# For a sampled response the KL is estimated by $\sum_t \big(\log\pi_\theta(y_t) - \log\pi_{\text{ref}}(y_t)\big)$.
# Implementations spread it over the tokens: every token gets $-\beta(\log\pi_\theta - \log\pi_{\text{ref}})$
# and the last real token also gets the reward model's score. Summed over a response, this is exactly
# $r - \beta\cdot\widehat{\mathrm{KL}}$.

# %% [markdown] tags=["zh"]
# ## 带 KL 惩罚的奖励 { #kl-penalty }
#
# 在 RLHF 中，策略最大化的是奖励模型的分数减去到冻结参考模型（SFT 模型）的 KL 惩罚：
# $r(x, y) - \beta\,\mathrm{KL}\big(\pi_\theta(\cdot\mid x)\,\|\,\pi_{\text{ref}}(\cdot\mid x)\big)$。
# 对一个采样出的回答，KL 用 $\sum_t \big(\log\pi_\theta(y_t) - \log\pi_{\text{ref}}(y_t)\big)$ 来估计。
# 实现时把它分摊到每个 token：每个 token 得到 $-\beta(\log\pi_\theta - \log\pi_{\text{ref}})$，
# 最后一个真实 token 再加上奖励模型的分数。对整个回答求和，正好是 $r - \beta\cdot\widehat{\mathrm{KL}}$。

# %%
BETA_KL = 0.05


def kl_penalized_rewards(rm_score, logp, logp_ref, mask, beta=BETA_KL):
    """Per-token rewards: -beta * log-ratio on every real token, plus rm_score on the last real token."""
    rewards = -beta * (logp - logp_ref) * mask
    last = mask.sum(-1).long() - 1  # index of each response's last real token
    rewards[torch.arange(len(rewards)), last] += rm_score
    return rewards


logits_ref = logits_old + 0.3 * torch.randn(B, T, V, dtype=DTYPE)
logp_ref = token_logprobs(logits_ref, tokens)
rm_score = torch.randn(B, dtype=DTYPE)
rewards = kl_penalized_rewards(rm_score, logp_old, logp_ref, mask)
kl_estimate = ((logp_old - logp_ref) * mask).sum(-1)
torch.testing.assert_close(rewards.sum(-1), rm_score - BETA_KL * kl_estimate)
assert (rewards[~real] == 0).all()
print("per-token rewards sum to r - beta * KL estimate for every response; padding gets 0")

# %% [markdown] tags=["en"]
# **The estimator is unbiased.** The sampled log-ratio can be negative for one response, but its mean
# over responses drawn from $\pi_\theta$ is the true KL. We check that on a toy policy whose tokens are
# independent across positions, where the exact sequence KL is the sum of the per-position KLs.

# %% [markdown] tags=["zh"]
# **这个估计是无偏的。** 单个回答的对数比值可能是负数，但对从 $\pi_\theta$ 采样的大量回答取平均，就得到真实的 KL。
# 我们在一个各位置 token 相互独立的玩具策略上验证这一点：此时整条序列的精确 KL 等于各位置 KL 之和。

# %%
N_SAMPLES = 20_000
pi_logits = torch.randn(T, V, dtype=DTYPE)
ref_logits = pi_logits + 0.5 * torch.randn(T, V, dtype=DTYPE)
log_pi, log_ref = torch.log_softmax(pi_logits, -1), torch.log_softmax(ref_logits, -1)
exact_kl = (log_pi.exp() * (log_pi - log_ref)).sum().item()

samples = torch.distributions.Categorical(logits=pi_logits).sample((N_SAMPLES,))  # (N, T)
positions = torch.arange(T)
per_sample = (log_pi[positions, samples] - log_ref[positions, samples]).sum(-1)
mc_kl, std_err = per_sample.mean().item(), (per_sample.std() / math.sqrt(N_SAMPLES)).item()
print(f"exact KL {exact_kl:.4f}; Monte Carlo mean {mc_kl:.4f} ± {std_err:.4f}; "
      f"{(per_sample < 0).float().mean().item():.0%} of single-sample estimates are negative")
assert abs(mc_kl - exact_kl) < 4 * std_err

# %% [markdown] tags=["en"]
# **The optimum of the KL-penalized objective.** Over a fixed set of candidate responses,
# $J(\pi) = \mathbb{E}_{y\sim\pi}[r(y)] - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{\text{ref}})$ is maximized by
#
# $$
# \pi^*(y) = \frac{1}{Z}\,\pi_{\text{ref}}(y)\exp\!\big(r(y)/\beta\big),\qquad J(\pi^*) = \beta\log Z .
# $$
#
# DPO starts from this formula. We check it two ways on 6 candidates: the gradient of $J$ with respect
# to the policy logits is zero at $\pi^*$, and none of 10,000 random policies near it scores higher. A
# small $\beta$ lets the policy pile onto the best response; a large $\beta$ keeps it near the
# reference.

# %% [markdown] tags=["zh"]
# **KL 惩罚目标的最优解。** 在一组固定的候选回答上，
# $J(\pi) = \mathbb{E}_{y\sim\pi}[r(y)] - \beta\,\mathrm{KL}(\pi\,\|\,\pi_{\text{ref}})$ 的最大值点是
#
# $$
# \pi^*(y) = \frac{1}{Z}\,\pi_{\text{ref}}(y)\exp\!\big(r(y)/\beta\big),\qquad J(\pi^*) = \beta\log Z .
# $$
#
# DPO 正是从这个式子出发的。我们在 6 个候选回答上用两种方式验证：在 $\pi^*$ 处 $J$ 对策略 logits 的梯度为零，
# 并且在它附近随机取的 10,000 个策略没有一个得分更高。$\beta$ 小时，策略会集中到奖励最高的回答上；
# $\beta$ 大时，策略留在参考模型附近。

# %%
K_CANDIDATES = 6
cand_rewards = torch.randn(K_CANDIDATES, dtype=DTYPE)
log_ref_cand = torch.log_softmax(torch.randn(K_CANDIDATES, dtype=DTYPE), -1)


def kl_objective(logits, beta):
    """E_pi[r] - beta * KL(pi || pi_ref) for a categorical policy over the candidates."""
    log_p = torch.log_softmax(logits, -1)
    return (log_p.exp() * (cand_rewards - beta * (log_p - log_ref_cand))).sum()


for beta in (0.1, 1.0, 10.0):
    optimal_logits = (log_ref_cand + cand_rewards / beta).requires_grad_()  # pi* = softmax of these
    j_star = kl_objective(optimal_logits, beta)
    (grad,) = torch.autograd.grad(j_star, optimal_logits)
    assert grad.abs().max() < 1e-12  # a stationary point, and J is concave in pi: the maximum
    torch.testing.assert_close(j_star, beta * torch.logsumexp(optimal_logits, -1))  # J(pi*) = beta log Z
    nearby = optimal_logits.detach() + torch.randn(10_000, K_CANDIDATES, dtype=DTYPE)
    assert (torch.vmap(kl_objective, in_dims=(0, None))(nearby, beta) < j_star).all()
    pi_star = torch.softmax(optimal_logits.detach(), -1)
    kl_star = (pi_star * (pi_star.log() - log_ref_cand)).sum().item()
    best = cand_rewards.argmax()
    print(f"beta={beta:>4}: J(pi*) = beta log Z = {j_star.item():.3f}; best response: pi* {pi_star[best].item():.3f} "
          f"(pi_ref {log_ref_cand[best].exp().item():.3f}); KL(pi* || pi_ref) = {kl_star:.3f}")


# %% [markdown] tags=["en"]
# ## DPO loss from sequence log-probabilities { #dpo-loss }
#
# Solving the closed form for the reward gives $r(y) = \beta\log\frac{\pi^*(y)}{\pi_{\text{ref}}(y)} + \beta\log Z$,
# and $Z$ cancels in the Bradley–Terry difference. DPO therefore trains the policy directly:
#
# $$
# \mathcal{L}_{\text{DPO}} = -\log\sigma\Big(\beta\big[(\log\pi_\theta(y_w\mid x) - \log\pi_{\text{ref}}(y_w\mid x)) - (\log\pi_\theta(y_l\mid x) - \log\pi_{\text{ref}}(y_l\mid x))\big]\Big).
# $$
#
# $\log\pi(y\mid x)$ is a **sequence** log-probability: the sum of the response tokens' log-probs, with
# padding masked out. We check that sum against `F.cross_entropy` with `ignore_index`.

# %% [markdown] tags=["zh"]
# ## 由序列对数概率计算 DPO 损失 { #dpo-loss }
#
# 从闭式解反解出奖励 $r(y) = \beta\log\frac{\pi^*(y)}{\pi_{\text{ref}}(y)} + \beta\log Z$，$Z$ 在 Bradley–Terry
# 差值中被消掉。于是 DPO 直接训练策略：
#
# $$
# \mathcal{L}_{\text{DPO}} = -\log\sigma\Big(\beta\big[(\log\pi_\theta(y_w\mid x) - \log\pi_{\text{ref}}(y_w\mid x)) - (\log\pi_\theta(y_l\mid x) - \log\pi_{\text{ref}}(y_l\mid x))\big]\Big).
# $$
#
# 其中 $\log\pi(y\mid x)$ 是**序列**对数概率：回答中各 token 对数概率之和，填充位置被掩码排除。
# 下面用带 `ignore_index` 的 `F.cross_entropy` 核对这个求和。

# %%
def sequence_logprob(logits, tokens, mask):
    """Sum of the log-probs of the real tokens of each response: (..., T, V) -> (...)."""
    return (token_logprobs(logits, tokens) * mask).sum(-1)


def dpo_loss(pi_chosen, pi_rejected, ref_chosen, ref_rejected, beta):
    """DPO loss from sequence log-probs; also returns the implicit rewards beta * log(pi / pi_ref)."""
    reward_chosen = beta * (pi_chosen - ref_chosen)
    reward_rejected = beta * (pi_rejected - ref_rejected)
    return bradley_terry_loss(reward_chosen, reward_rejected), reward_chosen, reward_rejected


IGNORE = -100  # the label F.cross_entropy skips
seq_lp = sequence_logprob(logits_old, tokens, mask)
labels = tokens.masked_fill(~real, IGNORE)
ce = F.cross_entropy(logits_old.transpose(1, 2), labels, ignore_index=IGNORE, reduction="none")  # (B, T)
torch.testing.assert_close(seq_lp, -ce.sum(-1))
print("masked sum of token log-probs = -(sum of token cross-entropies, padding ignored):", max_err(seq_lp, -ce.sum(-1)))

# %% [markdown] tags=["en"]
# **A toy policy.** The policy is a table of logits, one distribution over a vocabulary of 12 tokens
# for each (prompt, position): 8 prompts, responses of up to 6 tokens. Each prompt has a chosen and a
# rejected response of different lengths. The reference is a frozen copy of the initial table, so at
# the start $\pi_\theta = \pi_{\text{ref}}$, the margin is 0 and the loss is exactly $\log 2$.

# %% [markdown] tags=["zh"]
# **玩具策略。** 策略是一张 logits 表：对每个（提示，位置）给出词表大小为 12 的一个分布，共 8 个提示，
# 回答最长 6 个 token。每个提示有一个被选中的回答和一个被拒绝的回答，长度各不相同。参考模型是初始表的冻结副本，
# 所以开始时 $\pi_\theta = \pi_{\text{ref}}$，差值为 0，损失恰好是 $\log 2$。

# %%
N_PROMPTS, MAX_LEN, VOCAB, BETA_DPO = 8, 6, 12, 0.1


def random_responses(n, max_len, vocab):
    """Token ids (n, max_len) and a mask for responses of random lengths 2..max_len."""
    lengths = torch.randint(2, max_len + 1, (n,))
    return torch.randint(vocab, (n, max_len)), (torch.arange(max_len) < lengths.unsqueeze(1)).to(DTYPE)


chosen_tokens, chosen_mask = random_responses(N_PROMPTS, MAX_LEN, VOCAB)
rejected_tokens, rejected_mask = random_responses(N_PROMPTS, MAX_LEN, VOCAB)
ref_table = torch.randn(N_PROMPTS, MAX_LEN, VOCAB, dtype=DTYPE)  # logits[prompt, position, token]
policy_table = ref_table.clone().requires_grad_()
ref_chosen = sequence_logprob(ref_table, chosen_tokens, chosen_mask)
ref_rejected = sequence_logprob(ref_table, rejected_tokens, rejected_mask)


def dpo_step_values(table):
    """DPO loss and implicit rewards of the policy `table` on the preference pairs."""
    pi_chosen = sequence_logprob(table, chosen_tokens, chosen_mask)
    pi_rejected = sequence_logprob(table, rejected_tokens, rejected_mask)
    return dpo_loss(pi_chosen, pi_rejected, ref_chosen, ref_rejected, BETA_DPO)


loss0, _, _ = dpo_step_values(policy_table)
torch.testing.assert_close(loss0, torch.tensor(math.log(2), dtype=DTYPE))
print(f"pi = pi_ref: DPO loss = {loss0.item():.6f} = log 2")

# the gradient on log pi(y_w) is -beta * sigmoid(-margin) / n: wrongly ranked pairs weigh most
pi_w = (ref_chosen + torch.randn(N_PROMPTS, dtype=DTYPE)).requires_grad_()
pi_l = ref_rejected.clone().requires_grad_()
loss_g, rw, rl = dpo_loss(pi_w, pi_l, ref_chosen, ref_rejected, BETA_DPO)
loss_g.backward()
torch.testing.assert_close(pi_w.grad, -BETA_DPO * torch.sigmoid(-(rw - rl)).detach() / N_PROMPTS)
torch.testing.assert_close(pi_l.grad, -pi_w.grad)
print("d loss / d log pi(y_w) = -beta * sigmoid(r_l - r_w) / n, and the opposite for y_l")

# %% [markdown] tags=["en"]
# Now a few Adam steps on the table. The implicit reward margin
# $\beta[(\log\pi_\theta(y_w) - \log\pi_{\text{ref}}(y_w)) - (\log\pi_\theta(y_l) - \log\pi_{\text{ref}}(y_l))]$
# must grow from 0, the loss must fall below $\log 2$, and every pair must end up ranked correctly.

# %% [markdown] tags=["zh"]
# 接下来对这张表做几步 Adam 更新。隐式奖励差值
# $\beta[(\log\pi_\theta(y_w) - \log\pi_{\text{ref}}(y_w)) - (\log\pi_\theta(y_l) - \log\pi_{\text{ref}}(y_l))]$
# 应从 0 开始增大，损失应降到 $\log 2$ 以下，并且每个样本对最终都排对。

# %%
DPO_STEPS = 40
opt = torch.optim.Adam([policy_table], lr=0.05)
history = {"loss": [], "chosen": [], "rejected": []}
for step in range(DPO_STEPS + 1):
    loss, reward_chosen, reward_rejected = dpo_step_values(policy_table)
    history["loss"].append(loss.item())
    history["chosen"].append(reward_chosen.mean().item())
    history["rejected"].append(reward_rejected.mean().item())
    if step < DPO_STEPS:
        opt.zero_grad()
        loss.backward()
        opt.step()

margins = [c - r for c, r in zip(history["chosen"], history["rejected"])]
print(f"mean margin: {margins[0]:.3f} -> {margins[-1]:.3f}; loss: {history['loss'][0]:.4f} -> {history['loss'][-1]:.4f}")
print(f"mean implicit reward: chosen {history['chosen'][-1]:+.3f}, rejected {history['rejected'][-1]:+.3f}")
assert margins[0] == 0 and margins[-1] > 0.5, margins[-1]
assert all(b > a for a, b in zip(margins, margins[1:])), "the margin should grow at every step"
assert history["loss"][-1] < 0.5 * math.log(2)
assert ((reward_chosen - reward_rejected) > 0).all()

# %%
DPO_LABELS = {
    "en": {"step": "Adam step", "reward": r"mean implicit reward $\beta\log(\pi_\theta/\pi_{\mathrm{ref}})$",
           "chosen": r"chosen $y_w$", "rejected": r"rejected $y_l$", "loss": "DPO loss", "log2": r"$\log 2$"},
    "zh": {"step": "Adam 步数", "reward": r"平均隐式奖励 $\beta\log(\pi_\theta/\pi_{\mathrm{ref}})$",
           "chosen": r"被选中的 $y_w$", "rejected": r"被拒绝的 $y_l$", "loss": "DPO 损失", "log2": r"$\log 2$"},
}


def draw_dpo(lang):
    labels = DPO_LABELS[lang]
    steps = range(DPO_STEPS + 1)
    fig, (ax_r, ax_l) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    ax_r.plot(steps, history["chosen"], label=labels["chosen"])
    ax_r.plot(steps, history["rejected"], label=labels["rejected"])
    ax_r.axhline(0, color="gray", lw=0.8)
    ax_r.set(xlabel=labels["step"], ylabel=labels["reward"])
    ax_l.plot(steps, history["loss"], color="tab:green", label=labels["loss"])
    ax_l.axhline(math.log(2), color="gray", ls=":", label=labels["log2"])
    ax_l.set(xlabel=labels["step"], ylabel=labels["loss"], ylim=(0, 0.75))
    for ax in (ax_r, ax_l):
        ax.grid(alpha=0.3)
        ax.legend()
    return fig


show(draw_dpo)

# %% [markdown] tags=["en"]
# The chosen responses gain probability relative to the reference and the rejected ones lose it. The
# loss only sees the difference, so on real models both log-probabilities can fall while the gap still
# grows, one of the known weaknesses of DPO.

# %% [markdown] tags=["zh"]
# 相对参考模型，被选中的回答概率上升，被拒绝的回答概率下降。损失只看两者之差，所以在真实模型上，
# 两个对数概率可能同时下降而差值仍在变大，这是 DPO 已知的弱点之一。

# %% [markdown] tags=["en"]
# ## Takeaways { #takeaways }
#
# - The reward-model loss is binary cross-entropy on the reward difference; compute it as
#   `-F.logsigmoid(r_w - r_l)`, never as `log(sigmoid(...))`. Accuracy against noisy labels is capped by
#   the labelers' own agreement.
# - PPO's clip zeroes the gradient of a token once its ratio has moved past $1 \pm \epsilon$ in the
#   direction its advantage favors, and only then.
# - The RLHF reward is $r - \beta\,\widehat{\mathrm{KL}}$, spread over tokens; its optimum is
#   $\pi_{\text{ref}}\exp(r/\beta)/Z$.
# - DPO is the Bradley–Terry loss on implicit rewards $\beta\log(\pi_\theta/\pi_{\text{ref}})$ of whole
#   sequences: $\log 2$ at the start, and the chosen-minus-rejected margin grows as it trains.
#
# Back to the questions: [RLHF pipeline](../fine-tuning-alignment.md#rlhf-pipeline) ·
# [reward model](../fine-tuning-alignment.md#reward-model) · [PPO in RLHF](../fine-tuning-alignment.md#ppo-in-rlhf) ·
# [DPO](../fine-tuning-alignment.md#dpo).

# %% [markdown] tags=["zh"]
# ## 小结 { #takeaways }
#
# - 奖励模型的损失就是奖励差值上的二元交叉熵；要写成 `-F.logsigmoid(r_w - r_l)`，不要写成 `log(sigmoid(...))`。
#   相对带噪声标注的准确率，上限是标注员自身与真实排序的一致率。
# - PPO 的裁剪只在概率比已经朝优势有利的方向越过 $1 \pm \epsilon$ 时，才把该 token 的梯度置零。
# - RLHF 的奖励是 $r - \beta\,\widehat{\mathrm{KL}}$，分摊到各个 token；它的最优解是
#   $\pi_{\text{ref}}\exp(r/\beta)/Z$。
# - DPO 就是在整条序列的隐式奖励 $\beta\log(\pi_\theta/\pi_{\text{ref}})$ 上计算的 Bradley–Terry 损失：
#   初始值为 $\log 2$，训练中被选中与被拒绝回答之间的差值不断增大。
#
# 回到问答页：[RLHF 流程](../fine-tuning-alignment.md#rlhf-pipeline) ·
# [奖励模型](../fine-tuning-alignment.md#reward-model) · [RLHF 中的 PPO](../fine-tuning-alignment.md#ppo-in-rlhf) ·
# [DPO](../fine-tuning-alignment.md#dpo)。
