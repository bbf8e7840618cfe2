# %% [markdown] tags=["en"]
# # Attention from scratch
# Math: $\operatorname{softmax}(QK^\top/\sqrt{d_k})V$
# %% [markdown] tags=["zh"]
# # 从零实现注意力机制
# 公式：$\operatorname{softmax}(QK^\top/\sqrt{d_k})V$
# %%
import torch
print(torch.__version__)
