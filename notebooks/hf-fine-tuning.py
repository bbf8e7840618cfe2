# %% [markdown] tags=["en"]
# # Fine-tuning with the transformers API
#
# This notebook runs the code of three coding-interview questions:
# [adapting BERT to text classification](../coding.md#bert-classification),
# [fine-tuning GPT-2 on a style](../coding.md#fine-tune-gpt2-style) and
# [a loss that combines forward and backward prediction](../coding.md#bidirectional-loss). On the question
# page the code starts from a hub checkpoint, `from_pretrained("bert-base-uncased")` or
# `from_pretrained("gpt2")`. Here nothing is downloaded: the same classes (`BertForMaskedLM`,
# `BertForSequenceClassification`, `GPT2LMHeadModel`) are built from a small `BertConfig` or `GPT2Config`,
# with tokenizers trained in the notebook, and trained for a few seconds on the handbook's own English
# pages. The background is in [transfer learning](../fine-tuning-alignment.md#transfer-learning),
# [full fine-tuning](../fine-tuning-alignment.md#full-fine-tuning), [BERT](../fundamentals.md#bert),
# [masked language modeling](../fundamentals.md#masked-language-modeling) and
# [autoregressive vs masked models](../fundamentals.md#autoregressive-vs-masked). Every check is an
# `assert`, so a wrong implementation fails the build.

# %% [markdown] tags=["zh"]
# # 用 transformers 接口做微调
#
# 本 notebook 运行三道编程面试题的代码：[用 BERT 做文本分类](../coding.md#bert-classification)、
# [针对某种文风微调 GPT-2](../coding.md#fine-tune-gpt2-style)，以及[结合正向与反向预测的损失函数](../coding.md#bidirectional-loss)。
# 问答页上的代码从 Hub 上的检查点出发：`from_pretrained("bert-base-uncased")` 或 `from_pretrained("gpt2")`。
# 这里不下载任何东西：同样的类（`BertForMaskedLM`、`BertForSequenceClassification`、`GPT2LMHeadModel`）由很小的
# `BertConfig` 或 `GPT2Config` 构建，分词器在 notebook 里现场训练，模型在手册自己的英文页面上只训练几秒。
# 背景知识见[迁移学习](../fine-tuning-alignment.md#transfer-learning)、[全量微调](../fine-tuning-alignment.md#full-fine-tuning)、
# [BERT](../fundamentals.md#bert)、[掩码语言建模](../fundamentals.md#masked-language-modeling)和
# [自回归模型与掩码模型](../fundamentals.md#autoregressive-vs-masked)。每项校验都是一条 `assert`，实现有误时构建会直接失败。

# %%
import copy
import math
import random
import re
import tempfile
import warnings
from collections import Counter
from pathlib import Path

import matplotlib.pyplot as plt
import torch
import torch.nn.functional as F
from _figures import show
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm, imported by transformers
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    DataCollatorForLanguageModeling,
    GPT2Config,
    GPT2LMHeadModel,
    PreTrainedTokenizerFast,
    get_linear_schedule_with_warmup,
)
from transformers.utils import logging as hf_logging

random.seed(0)
torch.manual_seed(0)
torch.set_num_threads(1)  # tiny models: a second thread saves little and competes with other jobs
hf_logging.set_verbosity_error()
hf_logging.disable_progress_bar()

# %% [markdown] tags=["en"]
# ## The handbook as a corpus { #corpus }
#
# Every English page is split into the paragraphs of each answer (keyed by the question id) and the
# lines of its follow-up blocks. Code blocks, display math and tables are dropped; links keep their
# text. Both text styles are used below: answer prose for pre-training and classification, follow-up
# lines ("Question? Short answer.") as the style to fine-tune GPT-2 on.

# %% [markdown] tags=["zh"]
# ## 以手册为语料 { #corpus }
#
# 每个英文页面被拆成两部分：按问题 id 归组的各答案段落，以及「追问」块中的各行。代码块、行间公式和表格都被去掉，
# 链接只保留文字。下面会用到这两种文本：答案正文用于预训练和分类，追问行（「问题？简短回答。」）则作为 GPT-2
# 要学习的目标文风。

# %%
DOCS = Path("..") / "docs" / "en"


def plain_text(markdown):
    """Markdown -> plain text: link text without its target; no {#id} attributes, emphasis, backticks, list markers."""
    text = re.sub(r"\[([^\]]*)\]\([^)\s]*\)", r"\1", markdown)
    text = re.sub(r"\s*\{ #[^{}\n]*\}", "", text)
    text = re.sub(r"\*|`|^#+ |^- |^\d+\. ", "", text, flags=re.M)
    return re.sub(r"\s+", " ", text).strip()


def split_page(markdown):
    """A page -> ({question id: paragraphs of its answer}, [follow-up lines]); code, display math, tables dropped."""
    markdown = re.sub(r"```.*?```|\$\$.*?\$\$", "\n\n", markdown, flags=re.S)
    answers, followups, question = {}, [], "intro"
    for block in re.split(r"\n\s*\n", markdown):
        heading = re.match(r"## .*\{ #([\w-]+)", block.strip())
        if heading:
            question = heading.group(1)
        elif block.startswith(("??? question", "    - ")):  # follow-up items are indented list items
            followups += [plain_text(item) for item in re.split(r"^    - ", block, flags=re.M)[1:]]
        elif not block.lstrip().startswith(("|", "# ")):  # skip tables and the page title
            answers.setdefault(question, []).append(plain_text(block))
    return answers, followups


def sentences(paragraphs, min_words=6):
    """Split paragraphs after . ? ! followed by a capital letter; drop fragments under min_words words."""
    pieces = (s for p in paragraphs for s in re.split(r"(?<=[.?!])\s+(?=[A-Z])", p))
    return [s for s in pieces if len(s.split()) >= min_words]


pages = {path.stem: split_page(path.read_text("utf-8")) for path in sorted(DOCS.glob("*.md"))}
prose = [p for answers, _ in pages.values() for paragraphs in answers.values() for p in paragraphs]
followups = [line for _, lines in pages.values() for line in lines]
print(f"{len(pages)} pages: {len(prose)} answer paragraphs ({sum(len(p.split()) for p in prose):,} words), "
      f"{len(followups)} follow-up lines ({sum(len(f.split()) for f in followups):,} words)")
print("a follow-up line:", followups[0][:150])
assert len(pages) >= 12 and len(followups) > 300
assert all("](" not in p and "```" not in p for p in prose + followups)

# %% [markdown] tags=["en"]
# ## Transfer learning for classification { #bert-classification }
#
# With a hub checkpoint the question's code is
#
# ```python
# tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
# model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)
# ```
#
# We build both pieces ourselves: an uncased WordPiece tokenizer like BERT's, and a two-layer BERT with
# hidden size 64. **The task** is to tell which page a sentence comes from: retrieval-augmented
# generation or training. The split is by question: every fourth answer of each page
# is held out, so the test sentences come from answers the classifier never saw. The baseline predicts
# the most frequent training class for every sentence.

# %% [markdown] tags=["zh"]
# ## 迁移学习做文本分类 { #bert-classification }
#
# 用 Hub 上的检查点时，题目中的代码是：
#
# ```python
# tokenizer = AutoTokenizer.from_pretrained("bert-base-uncased")
# model = AutoModelForSequenceClassification.from_pretrained("bert-base-uncased", num_labels=2)
# ```
#
# 这里两样都自己构建：一个像 BERT 那样不区分大小写的 WordPiece 分词器，以及一个两层、隐藏维度 64 的 BERT。
# **任务**是判断一个句子来自哪一页：检索增强生成（RAG）还是训练。按问题划分数据：每页每四个答案留出一个，
# 因此测试句子来自分类器从未见过的答案。基线（Baseline）对所有句子都预测训练集中最常见的类别。

# %%
CLASSES = ["rag", "training"]
train_pairs, test_pairs = [], []
for label, page in enumerate(CLASSES):
    for i, paragraphs in enumerate(pages[page][0].values()):
        (test_pairs if i % 4 == 3 else train_pairs).extend((s, label) for s in sentences(paragraphs))
train_labels = torch.tensor([label for _, label in train_pairs])
test_labels = torch.tensor([label for _, label in test_pairs])
majority_class = Counter(train_labels.tolist()).most_common(1)[0][0]
baseline = (test_labels == majority_class).float().mean().item()
print(f"{len(train_pairs)} training and {len(test_pairs)} test sentences; "
      f"test classes {torch.bincount(test_labels).tolist()}; majority baseline {baseline:.3f}")

# The unlabeled pre-training text: every sentence of every page except the held-out ones.
held_out = {s for s, _ in test_pairs}
mlm_sentences = [s for s in sentences(prose) if s not in held_out]
assert held_out and not held_out & set(mlm_sentences)

BERT_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def train_wordpiece(texts, vocab_size):
    """A BERT-style tokenizer (lowercase WordPiece, [CLS] text [SEP]) wrapped for transformers."""
    wordpiece = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    wordpiece.normalizer = normalizers.BertNormalizer(lowercase=True)
    wordpiece.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    wordpiece.decoder = decoders.WordPiece()
    wordpiece.train_from_iterator(
        texts, trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=BERT_SPECIAL, show_progress=False)
    )
    cls_id, sep_id = wordpiece.token_to_id("[CLS]"), wordpiece.token_to_id("[SEP]")
    wordpiece.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)]
    )
    return PreTrainedTokenizerFast(tokenizer_object=wordpiece, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")


bert_tok = train_wordpiece(mlm_sentences, vocab_size=2000)
MAX_LEN = 32
print(bert_tok.convert_ids_to_tokens(bert_tok(train_pairs[0][0])["input_ids"])[:16], "...")

# %% [markdown] tags=["en"]
# **Pre-training with masked language modeling.** `DataCollatorForLanguageModeling` implements BERT's
# recipe: it picks 15% of the non-special tokens as prediction targets, replaces 80% of them with
# `[MASK]`, 10% with a random token and leaves 10% unchanged, and sets every other label to $-100$ so the
# loss ignores it. We check those rates on a large batch, then pre-train a `BertForMaskedLM` for a
# fixed budget of steps.

# %% [markdown] tags=["zh"]
# **用掩码语言建模预训练。** `DataCollatorForLanguageModeling` 实现了 BERT 的做法：从非特殊 token 中选出 15%
# 作为预测目标，其中 80% 换成 `[MASK]`、10% 换成随机 token、10% 保持不变，其余位置的标签设为 $-100$，损失会忽略它们。
# 先在一个大批次上检验这些比例，再用固定的步数预训练一个 `BertForMaskedLM`。

# %%
collator = DataCollatorForLanguageModeling(bert_tok, mlm_probability=0.15)
mlm_examples = [{"input_ids": ids} for ids in bert_tok(mlm_sentences, truncation=True, max_length=MAX_LEN)["input_ids"]]

check = collator(mlm_examples[:2000])
positions, lengths = torch.arange(check["input_ids"].size(1)), check["attention_mask"].sum(dim=1, keepdim=True)
real = (positions > 0) & (positions < lengths - 1)  # neither the framing [CLS] ... [SEP] nor padding
targets = check["labels"] != -100
as_mask = check["input_ids"][targets] == bert_tok.mask_token_id
unchanged = check["input_ids"][targets] == check["labels"][targets]
rates = {"targets": targets.sum().item() / real.sum().item(), "[MASK]": as_mask.float().mean().item(),
         "unchanged": unchanged.float().mean().item()}
print({name: round(rate, 3) for name, rate in rates.items()}, f"of {real.sum().item():,} tokens")
assert not (targets & ~real).any()  # [CLS], [SEP] and padding are never targets
assert abs(rates["targets"] - 0.15) < 0.01
assert abs(rates["[MASK]"] - 0.8) < 0.02 and abs(rates["unchanged"] - 0.1) < 0.02

# %%
N_LAYERS, HIDDEN = 2, 64
bert_config = BertConfig(vocab_size=len(bert_tok), hidden_size=HIDDEN, num_hidden_layers=N_LAYERS,
                         num_attention_heads=2, intermediate_size=4 * HIDDEN, max_position_embeddings=MAX_LEN)


def pretrain_mlm(model, examples, steps, batch_size=32, lr=2e-3):
    """MLM pre-training: each batch is masked afresh by the collator; the loss counts only the targets."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    rng = random.Random(0)
    losses = []
    model.train()
    for _ in range(steps):
        batch = collator(rng.sample(examples, batch_size))  # input_ids, attention_mask, labels
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    return losses


mlm_model = BertForMaskedLM(bert_config)
MLM_STEPS, MLM_BATCH = 50, 16
mlm_losses = pretrain_mlm(mlm_model, mlm_examples, steps=MLM_STEPS, batch_size=MLM_BATCH)
mean_length = sum(len(ex["input_ids"]) for ex in mlm_examples) / len(mlm_examples)
print(f"pre-training saw about {MLM_STEPS * MLM_BATCH * mean_length:,.0f} tokens")

counts = Counter(i for ex in mlm_examples for i in ex["input_ids"][1:-1])
unigram_entropy = -sum(c / counts.total() * math.log(c / counts.total()) for c in counts.values())
final_mlm_loss = sum(mlm_losses[-10:]) / 10
print(f"MLM loss: {mlm_losses[0]:.2f} at step 1 (ln V = {math.log(len(bert_tok)):.2f}), {final_mlm_loss:.2f} "
      f"over the last 10 steps; unigram entropy of the text {unigram_entropy:.2f}")
assert final_mlm_loss < math.log(len(bert_tok)) - 0.8  # it learned something: at least the token frequencies
assert final_mlm_loss > unigram_entropy - 0.5  # ...but not much more than the token frequencies

# %% [markdown] tags=["en"]
# The loss fell from $\ln V$ (a uniform guess) to about the entropy of the token frequencies: in a few
# seconds the model has learned which tokens are common, and little about context. Keep that in mind
# for the results below.
#
# **From the pre-trained checkpoint to a classifier.** `save_pretrained` and `from_pretrained` move the
# weights, exactly as with a hub model. The loading report lists the parameters the checkpoint lacks,
# which are initialized at random: the classifier and, because an MLM-only model has no pooler, the
# pooler (a dense layer with tanh on the `[CLS]` vector; BERT trained it with next-sentence prediction).
# Together they are the new **head**, the same shape as RoBERTa's classification head. The MLM head
# (`cls.predictions`) is unused and dropped.

# %% [markdown] tags=["zh"]
# 损失从 $\ln V$（均匀猜测）降到了大约等于 token 频率分布的熵：几秒钟内模型学会了哪些 token 常见，但几乎没学到上下文。
# 看下面的结果时要记住这一点。
#
# **从预训练检查点到分类器。** 与使用 Hub 上的模型一样，用 `save_pretrained` 和 `from_pretrained` 搬运权重。
# 加载报告会列出检查点中没有、因而随机初始化的参数：分类器，以及池化层（Pooler，作用在 `[CLS]` 向量上的一个带 tanh
# 的全连接层；BERT 用下一句预测任务训练它）——只做过 MLM 的模型没有池化层。两者合起来就是新的**任务头**（Head），
# 结构与 RoBERTa 的分类头相同。MLM 的预测头（`cls.predictions`）用不上，加载时被丢弃。

# %%
with tempfile.TemporaryDirectory() as checkpoint:
    mlm_model.save_pretrained(checkpoint)
    classifier, info = BertForSequenceClassification.from_pretrained(
        checkpoint, num_labels=len(CLASSES), output_loading_info=True
    )
new_params = set(info["missing_keys"])
print("newly initialized:", sorted(new_params))
print("dropped:", sorted(info["unexpected_keys"]))
assert new_params == {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"}
assert all(key.startswith("cls.predictions") for key in info["unexpected_keys"])
for name, tensor in mlm_model.bert.state_dict().items():  # the encoder arrived unchanged
    torch.testing.assert_close(classifier.bert.state_dict()[name], tensor, rtol=0, atol=0)
encoder_state = copy.deepcopy(classifier.state_dict())  # to restart each experiment from the same weights

# %% [markdown] tags=["en"]
# **Freeze the encoder, train the head.** A frozen parameter gets no gradient and no optimizer state.
# The head has $H^2 + H$ parameters in the pooler and $HC + C$ in the classifier, for hidden size $H$ and
# $C$ classes. Unfreezing the top encoder layer as well (the first step of ULMFiT-style gradual
# unfreezing) adds one layer's $12H^2 + 13H$: four $H \times H$ attention projections, the $H \times 4H$
# and $4H \times H$ feed-forward matrices, their biases and two LayerNorms. Training is the standard
# PyTorch loop: AdamW over the trainable parameters, `model(**batch, labels=...)`, `.loss.backward()`,
# with the usual BERT fine-tuning extras: a linear warm-up and decay of the learning rate and gradient
# clipping. (`Trainer` wraps the same loop with evaluation, checkpoints and logging; a linear schedule and
# clipping at norm 1.0 are its defaults.)

# %% [markdown] tags=["zh"]
# **冻结编码器，只训练任务头。** 冻结的参数没有梯度，也没有优化器状态。设隐藏维度为 $H$、类别数为 $C$，任务头中池化层有
# $H^2 + H$ 个参数，分类器有 $HC + C$ 个。再解冻编码器最顶上的一层（ULMFiT 式逐层解冻的第一步）会多出一层的
# $12H^2 + 13H$ 个参数：四个 $H \times H$ 的注意力投影、$H \times 4H$ 与 $4H \times H$ 两个前馈矩阵、它们的偏置，
# 以及两个 LayerNorm。训练用标准的 PyTorch 循环：对可训练参数用 AdamW，调用 `model(**batch, labels=...)`，
# 再对 `.loss` 反向传播，外加 BERT 微调的常规配置：学习率先线性预热再线性衰减，并做梯度裁剪（Gradient Clipping）。
# （`Trainer` 封装的也是这个循环，另外负责评估、保存检查点和记录日志；线性学习率调度和按范数 1.0 裁剪是它的默认设置。）

# %%
def set_trainable(model, names):
    """Train only the named parameters; return how many weights that is."""
    for name, param in model.named_parameters():
        param.requires_grad = name in names
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def encode(pairs):
    return bert_tok([s for s, _ in pairs], truncation=True, max_length=MAX_LEN, padding=True, return_tensors="pt")


train_enc, test_enc = encode(train_pairs), encode(test_pairs)


@torch.no_grad()
def cls_spread(model, enc):
    """How much the final [CLS] vectors differ between sentences, relative to their mean: |std| / |mean|."""
    model.eval()
    cls_vectors = model.bert(**enc).last_hidden_state[:, 0]
    return (cls_vectors.std(dim=0).norm() / cls_vectors.mean(dim=0).norm()).item()


@torch.no_grad()
def accuracy(model, enc, labels):
    model.eval()
    return (model(**enc).logits.argmax(-1) == labels).float().mean().item()


def train_classifier(model, epochs, lr, batch_size=32):
    """AdamW, linear warm-up then decay, clipped gradients, model(**batch, labels=...).loss; returns test accuracy."""
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.01)
    n_steps = epochs * math.ceil(len(train_labels) / batch_size)
    scheduler = get_linear_schedule_with_warmup(optimizer, num_warmup_steps=n_steps // 10, num_training_steps=n_steps)
    generator = torch.Generator().manual_seed(0)
    torch.manual_seed(0)  # the same dropout masks for every run
    for _ in range(epochs):
        model.train()
        for idx in torch.randperm(len(train_labels), generator=generator).split(batch_size):
            batch = {key: value[idx] for key, value in train_enc.items()}
            loss = model(**batch, labels=train_labels[idx]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
    return accuracy(model, test_enc, test_labels)


n_head = set_trainable(classifier, new_params)
C = len(CLASSES)
assert n_head == (HIDDEN * HIDDEN + HIDDEN) + (HIDDEN * C + C)  # pooler + classifier, nothing else
n_all = sum(p.numel() for p in classifier.parameters())
print(f"frozen encoder: {n_head:,} trainable parameters of {n_all:,} ({n_head / n_all:.1%})")

frozen_spread = cls_spread(classifier, test_enc)  # the [CLS] vector is all the frozen head gets to see
print(f"the final [CLS] vector differs between test sentences by {frozen_spread:.1%} of its length")
assert frozen_spread < 0.1
results = {"frozen encoder": train_classifier(classifier, epochs=3, lr=3e-3)}

# Gradual unfreezing would train the top encoder layer next: one layer's worth of parameters more.
top_prefix = f"bert.encoder.layer.{N_LAYERS - 1}."
top_layer = {name for name, _ in classifier.named_parameters() if name.startswith(top_prefix)}
n_top = set_trainable(classifier, new_params | top_layer)
assert n_top == n_head + 12 * HIDDEN**2 + 13 * HIDDEN
print(f"with the top layer unfrozen: {n_top:,} trainable parameters")

# %% [markdown] tags=["en"]
# **Full fine-tuning**, every weight trainable, from the MLM checkpoint and, for comparison, from a
# random initialization of the same architecture. The learning rate is far above the $2\times10^{-5}$
# typical for BERT-base: a model this small, with weights this far from convergence, needs larger steps.

# %% [markdown] tags=["zh"]
# **全量微调**：所有权重都可训练。分别从 MLM 检查点和同一结构的随机初始化出发，作为对照。学习率远高于 BERT-base
# 常用的 $2\times10^{-5}$：这么小、离收敛还很远的模型需要更大的步长。

# %%
classifier.load_state_dict(encoder_state)
assert set_trainable(classifier, {name for name, _ in classifier.named_parameters()}) == n_all
results["full, from MLM"] = train_classifier(classifier, epochs=6, lr=2e-3)
torch.manual_seed(0)
scratch = BertForSequenceClassification(classifier.config)  # same architecture and head, random weights
results["full, from random"] = train_classifier(scratch, epochs=6, lr=2e-3)

print(f"majority baseline {baseline:.3f}")
for name, acc in results.items():
    print(f"{name:>18}: test accuracy {acc:.3f}")
assert results["frozen encoder"] < baseline + 0.1  # the frozen [CLS] features carry next to nothing
assert min(results["full, from MLM"], results["full, from random"]) > baseline + 0.15  # the task is learned
assert abs(results["full, from MLM"] - results["full, from random"]) < 0.1  # our pre-training: no clear effect

# %%
ACCURACY_LABELS = {
    "en": {"frozen encoder": "frozen encoder", "full, from MLM": "full, from MLM",
           "full, from random": "full, from random", "baseline": "majority baseline", "y": "test accuracy"},
    "zh": {"frozen encoder": "冻结编码器", "full, from MLM": "全量微调（MLM 初始化）",
           "full, from random": "全量微调（随机初始化）", "baseline": "多数类基线", "y": "测试准确率"},
}


def draw_accuracies(lang):
    labels = ACCURACY_LABELS[lang]
    fig, ax = plt.subplots(figsize=(6.4, 3.2), layout="constrained")
    ax.bar([labels[name] for name in results], list(results.values()), color=["#9ecae1", "#3182bd", "#bdbdbd"])
    ax.axhline(baseline, color="black", linestyle="--", label=labels["baseline"])
    ax.set(ylabel=labels["y"], ylim=(0, 1))
    ax.legend(loc="upper left")
    return fig


show(draw_accuracies)

# %% [markdown] tags=["en"]
# Read the chart against the loss above. With the encoder frozen, the head sees only the final `[CLS]`
# vector, which barely changes from one sentence to the next (the spread printed earlier): a few seconds
# of MLM wrote almost nothing into it, so the frozen model stays near the majority baseline. Full
# fine-tuning clears the baseline by a wide margin, but **our pre-training gives it no advantage**: the
# runs from the MLM checkpoint and from random weights end within a few points of each other (the assert
# allows 10), and with a couple of hundred test sentences and one seed such differences are noise. The
# accuracy comes from fine-tuning on the labeled sentences, not from what was transferred.
#
# BERT-base was pre-trained for 1,000,000 steps of 256 sequences, about 40 epochs over 3.3 billion words
# (*BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding*, Devlin et al., 2019);
# ours saw the few tens of thousands of tokens printed above. From a checkpoint like that, a frozen encoder
# usually gives useful features and fine-tuning needs only a small learning rate and a few epochs. What
# carries over unchanged is the procedure: load, see which weights are new, choose what to freeze, count
# the trainable parameters, train, and compare with a baseline and with a model trained from scratch.

# %% [markdown] tags=["zh"]
# 结合上面的损失来看这张图。冻结编码器时，任务头只能看到最后一层的 `[CLS]` 向量，而它在不同句子之间几乎没有差别
# （见前面打印的离散程度）：几秒钟的 MLM 几乎没往里面写进任何信息，所以冻结的模型停在多数类基线附近。全量微调大幅超过基线，
# 但**我们的预训练没有带来任何优势**：从 MLM 检查点出发和从随机权重出发，结果相差只有几个百分点（assert 允许 10 个百分点），
# 测试集只有两百来个句子、只跑一个种子，这样的差异属于噪声。准确率来自在标注句子上的微调，而不是迁移过来的知识。
#
# BERT-base 的预训练是 1,000,000 步、每步 256 个序列，在 33 亿词的语料上大约训练了 40 个 epoch
# （*BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding*，Devlin 等，2019）；
# 我们的模型只见过上面打印的几万个 token。从那样的检查点出发，冻结的编码器通常就能提供有用的特征，微调也只需要很小的学习率和几个 epoch。
# 能原样迁移过去的是流程：加载模型、查看哪些权重是新的、决定冻结哪些、核对可训练参数量、训练，再与基线和从零训练的模型比较。

# %% [markdown] tags=["en"]
# ## Fine-tuning GPT-2 on a style { #style-fine-tuning }
#
# The hub version starts from `GPT2LMHeadModel.from_pretrained("gpt2")` and its tokenizer. Ours is a
# byte-level BPE tokenizer trained on the answer prose and a two-layer GPT-2. The two "styles" are the
# answer prose (the general corpus, for pre-training) and the follow-up lines, which have a form of their
# own: a question, then a one- or two-sentence answer. Each text ends with `<|endoftext|>`, the stream is
# cut into blocks of equal length, and the model is trained with `labels=input_ids`: the model shifts
# the labels by one position internally. A tenth of the paragraphs and a fifth of the follow-up lines
# are held out.

# %% [markdown] tags=["zh"]
# ## 针对文风微调 GPT-2 { #style-fine-tuning }
#
# 用 Hub 时从 `GPT2LMHeadModel.from_pretrained("gpt2")` 及其分词器出发。这里用在答案正文上训练的字节级 BPE 分词器和一个两层的
# GPT-2。两种「文风」分别是答案正文（通用语料，用于预训练）和追问行：后者有自己的固定形式，先是一个问题，再跟一两句简短回答。
# 每段文本末尾加 `<|endoftext|>`，整个 token 流切成等长的块，用 `labels=input_ids` 训练：模型内部会把标签错开一位。
# 留出十分之一的段落和五分之一的追问行作为测试集。

# %%
def train_byte_bpe(texts, vocab_size):
    """A GPT-2-style byte-level BPE tokenizer; <|endoftext|> serves as BOS, EOS and padding, as in GPT-2."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   pad_token="<|endoftext|>", model_input_names=["input_ids", "attention_mask"])


def lm_blocks(texts, tokenizer, block_size):
    """Each text + <|endoftext|>, concatenated and cut into rows of block_size tokens (the usual group_texts)."""
    ids = [i for text in texts for i in tokenizer(text)["input_ids"] + [tokenizer.eos_token_id]]
    n_blocks = len(ids) // block_size
    return torch.tensor(ids[: n_blocks * block_size]).view(n_blocks, block_size)


prose_train = [p for i, p in enumerate(prose) if i % 10 != 9]
prose_test = [p for i, p in enumerate(prose) if i % 10 == 9]
style_train = [f for i, f in enumerate(followups) if i % 5 != 4]
style_test = [f for i, f in enumerate(followups) if i % 5 == 4]

gpt_tok = train_byte_bpe(prose_train, vocab_size=1000)
BLOCK = 32
general_train, general_test = lm_blocks(prose_train, gpt_tok, BLOCK), lm_blocks(prose_test, gpt_tok, BLOCK)[:64]
target_train, target_test = lm_blocks(style_train, gpt_tok, BLOCK), lm_blocks(style_test, gpt_tok, BLOCK)[:128]
print({name: tuple(blocks.shape) for name, blocks in
       [("general train", general_train), ("general test", general_test),
        ("style train", target_train), ("style test", target_test)]})

gpt_config = GPT2Config(vocab_size=len(gpt_tok), n_positions=BLOCK, n_embd=64, n_layer=2, n_head=2,
                        bos_token_id=gpt_tok.eos_token_id, eos_token_id=gpt_tok.eos_token_id)


@torch.no_grad()
def perplexity(model, blocks, batch_size=128):
    """exp(mean next-token loss); all blocks have the same length, so batch means average exactly."""
    model.eval()
    total = sum(model(input_ids=b, labels=b).loss.item() * len(b) for b in blocks.split(batch_size))
    return math.exp(total / len(blocks))


def train_lm(model, blocks, steps, lr, batch_size=32, eval_every=None):
    """Causal-LM training on random blocks; optionally records the two test perplexities along the way."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    generator = torch.Generator().manual_seed(0)
    history = []
    for step in range(steps + 1):
        if eval_every and step % eval_every == 0:
            history.append((step, perplexity(model, target_test), perplexity(model, general_test)))
        if step == steps:
            break
        model.train()
        batch = blocks[torch.randint(len(blocks), (batch_size,), generator=generator)]
        model(input_ids=batch, labels=batch).loss.backward()  # GPT2LMHeadModel shifts the labels itself
        optimizer.step()
        optimizer.zero_grad()
    return history


torch.manual_seed(0)
gpt = GPT2LMHeadModel(gpt_config)
train_lm(gpt, general_train, steps=100, lr=5e-3)
base_gpt = copy.deepcopy(gpt)  # the "pre-trained" model, kept for comparison
print(f"after pre-training on prose: perplexity {perplexity(gpt, general_test):.0f} on held-out prose, "
      f"{perplexity(gpt, target_test):.0f} on held-out follow-up lines (vocabulary {len(gpt_tok)})")

# %% [markdown] tags=["en"]
# **Fine-tuning** continues training the same weights on the target style only, with a lower learning
# rate. We measure the perplexity on held-out follow-up lines (the target style) and on held-out prose
# (the general style) as training goes on.

# %% [markdown] tags=["zh"]
# **微调**就是用更小的学习率，只在目标文风上继续训练同一组权重。训练过程中，我们同时测量留出的追问行（目标文风）
# 和留出的正文（通用文风）上的困惑度（Perplexity）。

# %%
history = train_lm(gpt, target_train, steps=60, lr=3e-3, eval_every=15)
(_, style_before, general_before), (_, style_after, general_after) = history[0], history[-1]
for name, before, after in (("follow-up style", style_before, style_after), ("general prose", general_before, general_after)):
    print(f"{name:>15}: perplexity {before:.0f} -> {after:.0f} ({after / before - 1:+.0%})")
assert style_after < 0.8 * style_before, (style_before, style_after)
assert style_after / style_before < general_after / general_before - 0.1  # the target style moves most

STYLE_LABELS = {
    "en": {"x": "fine-tuning step", "y": "held-out perplexity", "style": "follow-up lines (target style)",
           "general": "answer prose (general)"},
    "zh": {"x": "微调步数", "y": "留出集困惑度", "style": "追问行（目标文风）", "general": "答案正文（通用文风）"},
}


def draw_style_curves(lang):
    labels = STYLE_LABELS[lang]
    steps, style_ppl, general_ppl = zip(*history)
    fig, ax = plt.subplots(figsize=(6, 3.2), layout="constrained")
    ax.plot(steps, style_ppl, "o-", label=labels["style"])
    ax.plot(steps, general_ppl, "s--", label=labels["general"])
    ax.set(xlabel=labels["x"], ylabel=labels["y"])
    ax.grid(alpha=0.3)
    ax.legend()
    return fig


show(draw_style_curves)

# %% [markdown] tags=["en"]
# The perplexity on the target style drops within a few dozen steps; the perplexity on the general
# prose changes much less. Here it may even fall, because the "pre-trained" model is so undertrained that
# any more English helps it. With a well-trained checkpoint, this second curve is the one to watch: a rise
# is the first sign of [catastrophic forgetting](../fine-tuning-alignment.md#catastrophic-forgetting).
#
# Below, both models start a new document (the prompt is only `<|endoftext|>`) and draw 32 samples with
# top-p 0.9 from the same seed. A two-layer model trained for seconds writes broken English, so we look at
# the form rather than the content: how many samples contain a question mark, the mark of the follow-up
# style.

# %% [markdown] tags=["zh"]
# 目标文风上的困惑度在几十步内就明显下降，而通用正文上的困惑度变化小得多。这里它甚至可能下降，因为这个「预训练」模型训练得太不充分，
# 多看任何英文都有帮助。换成训练充分的检查点，第二条曲线才是要盯住的：它上升就是[灾难性遗忘](../fine-tuning-alignment.md#catastrophic-forgetting)
# 的最初信号。
#
# 下面让两个模型都从一篇新文档的开头（提示只有 `<|endoftext|>`）出发，用相同的随机种子、top-p = 0.9 各采样 32 条。
# 一个只训练了几秒的两层模型写不出通顺的英文，所以我们看形式而不是内容：有多少条样本含有问号，这正是追问行文风的标志。

# %%
def sample_texts(model, n=32, seed=0, n_tokens=24):
    """n top-p samples of n_tokens tokens, each starting a new document (the prompt is only <|endoftext|>)."""
    torch.manual_seed(seed)
    model.eval()  # generate() does not switch dropout off by itself
    prompt = torch.full((n, 1), gpt_tok.eos_token_id)
    out = model.generate(prompt, attention_mask=torch.ones_like(prompt), do_sample=True, top_p=0.9,
                         min_new_tokens=n_tokens, max_new_tokens=n_tokens, pad_token_id=gpt_tok.eos_token_id)
    return gpt_tok.batch_decode(out[:, 1:])


question_rates = {}
for name, model in (("pre-trained", base_gpt), ("fine-tuned", gpt)):
    texts = sample_texts(model)
    question_rates[name] = sum("?" in text for text in texts) / len(texts)
    print(f"{name}: {question_rates[name]:.0%} of samples contain a '?'; first two:")
    for text in texts[:2]:
        print(f"    {text!r}")
assert question_rates["fine-tuned"] > question_rates["pre-trained"] + 0.3


# %% [markdown] tags=["en"]
# ## A loss that combines forward and backward prediction { #bidirectional-loss }
#
# A forward (left-to-right) language model predicts each token from the ones before it; a backward model
# predicts it from the ones after it. ELMo trained both directions together and summed their
# log-likelihoods (*Deep contextualized word representations*, Peters et al., 2018). With one GPT-2 per
# direction and real tokens $x_1, \dots, x_n$ in each sequence:
#
# $$
# \mathcal{L} = \frac{1}{2N}\sum_{\text{sequences}}\Big[\sum_{t=1}^{n-1} -\log p_{\rightarrow}(x_{t+1}\mid x_{\le t})
#   \;+\; \sum_{t=2}^{n} -\log p_{\leftarrow}(x_{t-1}\mid x_{\ge t})\Big],
# \qquad N = \sum_{\text{sequences}} (n-1).
# $$
#
# The backward term is a forward loss on the reversed sequence, so the same shift-by-one code serves
# both. Three details decide whether it is correct:
#
# - **Reverse only the real tokens.** With right padding, `torch.flip` would move the padding to the
#   front; we reverse the first $n$ positions of each row and leave the padding at the end.
# - **Mask labels with the attention mask, not the pad id.** GPT-2 pads with `<|endoftext|>`, which
#   can also be a real token. Padded labels become $-100$, which `cross_entropy(ignore_index=-100)` skips.
# - **Shift, then `.reshape`.** Position $t$ predicts label $t+1$: `logits[:, :-1]` and `labels[:, 1:]`.
#   The sliced logits are not contiguous in memory, so `.view(-1, V)` raises an error where
#   `.reshape(-1, V)` copies when it must.

# %% [markdown] tags=["zh"]
# ## 结合正向与反向预测的损失 { #bidirectional-loss }
#
# 正向（从左到右）语言模型根据前面的 token 预测下一个 token，反向模型则根据后面的 token 预测前一个。ELMo 同时训练两个方向，
# 把两者的对数似然相加（*Deep contextualized word representations*，Peters 等，2018）。每个方向各用一个 GPT-2，设每个序列的真实
# token 为 $x_1, \dots, x_n$：
#
# $$
# \mathcal{L} = \frac{1}{2N}\sum_{\text{sequences}}\Big[\sum_{t=1}^{n-1} -\log p_{\rightarrow}(x_{t+1}\mid x_{\le t})
#   \;+\; \sum_{t=2}^{n} -\log p_{\leftarrow}(x_{t-1}\mid x_{\ge t})\Big],
# \qquad N = \sum_{\text{sequences}} (n-1).
# $$
#
# 反向项就是在反转后的序列上计算的正向损失，因此两个方向可以共用同一段错位计算的代码。是否正确取决于三个细节：
#
# - **只反转真实 token。** 使用右填充（Right Padding）时，`torch.flip` 会把填充移到序列开头；我们只反转每行的前 $n$ 个位置，
#   填充仍留在末尾。
# - **用注意力掩码而不是填充 id 来屏蔽标签。** GPT-2 用 `<|endoftext|>` 填充，而它也可能是真实 token。填充位置的标签设为 $-100$，
#   `cross_entropy(ignore_index=-100)` 会跳过它们。
# - **先错位，再 `.reshape`。** 位置 $t$ 预测标签 $t+1$：取 `logits[:, :-1]` 和 `labels[:, 1:]`。切片后的 logits 在内存中不连续，
#   `.view(-1, V)` 会报错，而 `.reshape(-1, V)` 会在必要时复制。

# %%
def next_token_loss(logits, labels):
    """Mean cross-entropy of position t predicting label t+1; labels of -100 are ignored."""
    shifted_logits = logits[:, :-1, :]  # a non-contiguous slice: .view() would fail here
    shifted_labels = labels[:, 1:]
    return F.cross_entropy(shifted_logits.reshape(-1, shifted_logits.size(-1)), shifted_labels.reshape(-1),
                           ignore_index=-100)


def reverse_real_tokens(input_ids, attention_mask):
    """Reverse the first n (real) tokens of every right-padded row; padding stays at the end."""
    assert (attention_mask[:, 1:] <= attention_mask[:, :-1]).all(), "expects right padding"
    lengths = attention_mask.sum(dim=1, keepdim=True)
    positions = torch.arange(input_ids.size(1)).expand_as(input_ids)
    source = torch.where(positions < lengths, lengths - 1 - positions, positions)
    return input_ids.gather(1, source)


def bidirectional_lm_loss(forward_model, backward_model, input_ids, attention_mask):
    """Average of the left-to-right and right-to-left next-token losses over the real tokens."""
    labels = input_ids.masked_fill(attention_mask == 0, -100)
    forward_logits = forward_model(input_ids=input_ids, attention_mask=attention_mask).logits
    reversed_ids = reverse_real_tokens(input_ids, attention_mask)  # same mask: padding did not move
    reversed_labels = reversed_ids.masked_fill(attention_mask == 0, -100)
    backward_logits = backward_model(input_ids=reversed_ids, attention_mask=attention_mask).logits
    # both directions predict n - 1 tokens per sequence, so the mean of the two means is the mean of all terms
    return (next_token_loss(forward_logits, labels) + next_token_loss(backward_logits, reversed_labels)) / 2


# %% [markdown] tags=["en"]
# **Check 1: a loop over positions.** For a small right-padded batch of three follow-up lines, the
# reference runs each model on one unpadded sequence at a time and adds $-\log p$ position by position.
# The models are in float64, so the two computations must agree to rounding. The forward term must also
# equal what `GPT2LMHeadModel` computes itself from `labels=`.

# %% [markdown] tags=["zh"]
# **校验一：逐位置循环。** 取三条追问行组成一个右填充的小批次。参考实现每次只把一个不带填充的序列送进模型，
# 逐位置累加 $-\log p$。模型用 float64，两种算法只允许有舍入误差。正向项还必须等于 `GPT2LMHeadModel` 根据 `labels=`
# 自己算出的损失。

# %%
def bidirectional_loss_loop(forward_model, backward_model, sequences):
    """The same loss, position by position, one unpadded sequence at a time."""
    total, n_predictions = 0.0, 0
    for ids in sequences:
        for model, seq in ((forward_model, ids), (backward_model, ids[::-1])):
            log_probs = model(input_ids=torch.tensor([seq])).logits[0].log_softmax(dim=-1)
            for t in range(len(seq) - 1):
                total -= log_probs[t, seq[t + 1]]
        n_predictions += len(ids) - 1
    return total / (2 * n_predictions)


small_config = GPT2Config(vocab_size=len(gpt_tok), n_positions=BLOCK, n_embd=32, n_layer=2, n_head=2)
torch.manual_seed(0)
# float64 for a tight comparison; eval() turns dropout off (a freshly built model starts in training mode)
forward_lm, backward_lm = (GPT2LMHeadModel(small_config).double().eval() for _ in range(2))

gpt_tok.padding_side = "right"
texts = [" ".join(line.split()[:n_words]) for line, n_words in zip(style_test, (12, 3, 7))]
batch = gpt_tok(texts, padding=True, return_tensors="pt")
real_ids = [row[mask.bool()].tolist() for row, mask in zip(batch["input_ids"], batch["attention_mask"])]
print("real lengths:", [len(ids) for ids in real_ids], "padded to", batch["input_ids"].shape[1])
assert len({len(ids) for ids in real_ids}) == 3  # three different lengths, so padding matters

loss = bidirectional_lm_loss(forward_lm, backward_lm, batch["input_ids"], batch["attention_mask"])
reference = bidirectional_loss_loop(forward_lm, backward_lm, real_ids)
torch.testing.assert_close(loss, reference)
print(f"bidirectional loss {loss.item():.6f} = position-by-position loop {reference.item():.6f}")

labels = batch["input_ids"].masked_fill(batch["attention_mask"] == 0, -100)
forward_only = next_token_loss(forward_lm(**batch).logits, labels)
hf_loss = forward_lm(**batch, labels=labels).loss  # transformers upcasts the logits to float32 for the loss
torch.testing.assert_close(forward_only.float(), hf_loss)
print(f"forward term {forward_only.item():.6f} = GPT2LMHeadModel(..., labels=labels).loss")

# %% [markdown] tags=["en"]
# **Check 2: the common mistakes give a different number.** Flipping the whole padded row puts the
# padding first: GPT-2 then numbers the positions from the padding, and the first real token is
# "predicted" from a pad. Using `labels=input_ids` without masking scores the padding. And `.view`
# refuses the sliced logits.

# %% [markdown] tags=["zh"]
# **校验二：常见错误会得到不同的数值。** 把整行连同填充一起翻转，会把填充放到开头：GPT-2 于是从填充开始编号位置，
# 第一个真实 token 还会被当作从填充「预测」出来。直接用 `labels=input_ids` 而不屏蔽，会把填充也计入损失。
# 而 `.view` 不接受切片后的 logits。

# %%
def naive_bidirectional_loss(forward_model, backward_model, input_ids, attention_mask, mask_labels=True):
    """Two bugs to avoid: torch.flip over the padding, and optionally unmasked labels."""
    labels = input_ids.masked_fill(attention_mask == 0, -100) if mask_labels else input_ids
    forward_logits = forward_model(input_ids=input_ids, attention_mask=attention_mask).logits
    flipped_ids, flipped_mask, flipped_labels = (t.flip(1) for t in (input_ids, attention_mask, labels))
    backward_logits = backward_model(input_ids=flipped_ids, attention_mask=flipped_mask).logits
    return (next_token_loss(forward_logits, labels) + next_token_loss(backward_logits, flipped_labels)) / 2


flipped = naive_bidirectional_loss(forward_lm, backward_lm, batch["input_ids"], batch["attention_mask"])
unmasked = naive_bidirectional_loss(forward_lm, backward_lm, batch["input_ids"], batch["attention_mask"],
                                    mask_labels=False)
print(f"torch.flip over padding: {flipped.item():.6f}; and unmasked labels: {unmasked.item():.6f}; "
      f"correct: {reference.item():.6f}")
# float64, where the correct loss equals the position-by-position loop to ~1e-15: any real difference shows.
assert not torch.isclose(flipped, reference, rtol=0, atol=1e-9)
assert not torch.isclose(unmasked, reference, rtol=0, atol=1e-9)

# Whether a slice of the model's logits is contiguous depends on the layout the model returns, so the
# check uses a tensor laid out like (batch, time, vocab) logits: dropping the last position breaks the
# contiguity .view needs, while .reshape copies when it must.
laid_out_like_logits = torch.arange(3 * 5 * 7.0).reshape(3, 5, 7)
shifted = laid_out_like_logits[:, :-1, :]
assert not shifted.is_contiguous()
try:
    shifted.view(-1, 7)
    raise AssertionError(".view should fail on the sliced logits")
except RuntimeError as error:
    print("view on the shifted logits:", str(error).split(".")[0])
torch.testing.assert_close(shifted.reshape(-1, 7), torch.cat([row for row in shifted]))

# %% [markdown] tags=["en"]
# **Check 3: gradients reach both models, and no direction sees its answer.** After one backward pass
# every parameter tensor of both models has a nonzero gradient. A direction that could see the token it
# predicts would reach a near-zero loss without learning anything, so we also check the causal structure:
# changing the first token leaves every backward prediction unchanged (they only see later tokens), and
# changing the last token leaves every forward prediction unchanged.

# %% [markdown] tags=["zh"]
# **校验三：梯度流到两个模型，且每个方向都看不到答案。** 一次反向传播之后，两个模型的每个参数张量都有非零梯度。
# 如果某个方向能看到它要预测的 token，损失会接近零而模型什么也没学到，所以还要检查因果结构：改动第一个 token，
# 反向模型的所有预测都不变（它们只看得到后面的 token）；改动最后一个 token，正向模型的所有预测都不变。

# %%
loss.backward()
for direction, model in (("forward", forward_lm), ("backward", backward_lm)):
    grad_norms = {name: 0.0 if p.grad is None else p.grad.norm().item() for name, p in model.named_parameters()}
    assert all(norm > 0 for norm in grad_norms.values()), [n for n, g in grad_norms.items() if g == 0]
    print(f"{direction}: all {len(grad_norms)} parameter tensors have nonzero gradients")

ids = torch.tensor([real_ids[0]])
new_first, new_last = ids.clone(), ids.clone()
new_first[0, 0] = (ids[0, 0] + 1) % len(gpt_tok)
new_last[0, -1] = (ids[0, -1] + 1) % len(gpt_tok)
with torch.no_grad():
    # backward model on reversed text: the first token is the last input, used only as a label
    torch.testing.assert_close(backward_lm(input_ids=new_first.flip(1)).logits[:, :-1],
                               backward_lm(input_ids=ids.flip(1)).logits[:, :-1], rtol=0, atol=0)
    torch.testing.assert_close(forward_lm(input_ids=new_last).logits[:, :-1],
                               forward_lm(input_ids=ids).logits[:, :-1], rtol=0, atol=0)
print("changing the first token leaves the backward predictions bit-identical; the last token, the forward ones")

# %% [markdown] tags=["en"]
# **How this differs from BERT's MLM.** Both use context on both sides of a token, but in different ways.
#
# | | forward + backward LM (ELMo-style) | masked LM (BERT) |
# | --- | --- | --- |
# | what a prediction sees | one side only, per direction | both sides, in every layer |
# | where the two sides meet | only after training, e.g. by concatenating the two models' states | inside every attention layer ("deeply bidirectional") |
# | targets per sequence | every token, twice | about 15% of tokens |
# | generates text | yes, the forward model | not directly |
# | train–test mismatch | none | `[MASK]` appears in pre-training only (hence the 80/10/10 rule) |
#
# A single Transformer with full (non-causal) attention trained on next-token prediction would simply
# copy the next token from its input, which is why each direction here must stay causal and why BERT
# hides the targets with `[MASK]` instead; see
# [masked language modeling](../fundamentals.md#masked-language-modeling) and
# [autoregressive vs masked models](../fundamentals.md#autoregressive-vs-masked).

# %% [markdown] tags=["zh"]
# **与 BERT 的 MLM 有什么不同。** 两者都利用了一个 token 左右两侧的上下文，但方式不同。
#
# | | 正向 + 反向语言模型（ELMo 式） | 掩码语言模型（BERT） |
# | --- | --- | --- |
# | 一次预测能看到什么 | 每个方向只看一侧 | 两侧，而且每一层都看两侧 |
# | 两侧信息在哪里汇合 | 训练之后才汇合，例如拼接两个模型的隐藏状态 | 在每个注意力层内部（「深度双向」） |
# | 每个序列的预测目标 | 每个 token，各算两次 | 约 15% 的 token |
# | 能否生成文本 | 能，用正向模型 | 不能直接生成 |
# | 训练与使用不一致 | 没有 | `[MASK]` 只出现在预训练中（因此有 80/10/10 规则） |
#
# 如果用一个全注意力（非因果）的 Transformer 做下一 token 预测，它只需从输入里把下一个 token 抄过来。
# 这就是这里每个方向都必须保持因果、而 BERT 要用 `[MASK]` 把预测目标遮住的原因；见[掩码语言建模](../fundamentals.md#masked-language-modeling)
# 和[自回归模型与掩码模型](../fundamentals.md#autoregressive-vs-masked)。

# %% [markdown] tags=["en"]
# ## Takeaways { #takeaways }
#
# - Transfer learning with `transformers` is `from_pretrained` plus a new head; the loading report tells
#   you which weights are new, and those (and only those) are what a frozen-encoder setup trains.
# - Freezing is a choice about the features: it works when the pre-trained encoder is good. A few
#   seconds of MLM only reach the token-frequency level, so here full fine-tuning won and pre-training
#   did not help.
# - Style fine-tuning is the pre-training loop run again on new text with a lower learning rate; the
#   target perplexity falls quickly, and the general one is worth watching for forgetting.
# - A forward + backward loss is two next-token losses, one on the reversed real tokens: reverse inside
#   the padding, mask labels with $-100$, shift by one, and `.reshape` the sliced logits.
#
# Back to the questions: [BERT classification](../coding.md#bert-classification) ·
# [GPT-2 style fine-tuning](../coding.md#fine-tune-gpt2-style) ·
# [bidirectional loss](../coding.md#bidirectional-loss) ·
# [transfer learning](../fine-tuning-alignment.md#transfer-learning) ·
# [full fine-tuning](../fine-tuning-alignment.md#full-fine-tuning).

# %% [markdown] tags=["zh"]
# ## 小结 { #takeaways }
#
# - 用 `transformers` 做迁移学习就是 `from_pretrained` 加一个新的任务头；加载报告会告诉你哪些权重是新的，
#   冻结编码器时要训练的正是这些权重，不多也不少。
# - 冻结与否取决于特征的好坏：预训练编码器足够好时冻结才有效。几秒钟的 MLM 只学到了 token 频率，所以这里全量微调胜出，
#   预训练没有带来帮助。
# - 文风微调就是用更小的学习率在新文本上再跑一遍预训练的循环；目标文风的困惑度下降很快，同时要盯住通用文本的困惑度，防止遗忘。
# - 正向 + 反向损失就是两个下一 token 损失，其中一个算在反转后的真实 token 上：只在填充之内反转，标签用 $-100$ 屏蔽，错开一位，
#   对切片后的 logits 用 `.reshape`。
#
# 回到问答页：[BERT 文本分类](../coding.md#bert-classification) ·
# [GPT-2 文风微调](../coding.md#fine-tune-gpt2-style) ·
# [双向损失](../coding.md#bidirectional-loss) ·
# [迁移学习](../fine-tuning-alignment.md#transfer-learning) ·
# [全量微调](../fine-tuning-alignment.md#full-fine-tuning)。
