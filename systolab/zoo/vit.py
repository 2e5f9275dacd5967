"""A Vision Transformer encoder with attention written out as matmuls.

Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at
Scale", ICLR 2021, Section 3.1 and Eq. 1-4: the image is cut into P x P patches, each linearly
embedded (a P x P / P convolution), a learned class token is prepended and a learned position
embedding added; L pre-norm encoder blocks follow, each ``x + MSA(LN(x))`` then
``x + MLP(LN(x))`` with a GELU MLP; a final LayerNorm on the class token feeds the head.

Attention is spelled with separate ``q``, ``k``, ``v`` and ``proj`` linears and explicit
``q @ k^T`` and ``attn @ v`` products (not ``nn.MultiheadAttention``), so a ``torch.fx`` trace
exposes both matmuls and the softmax as ops an accelerator has to run.

Module names: ``patch_embed.proj``, ``cls_token``, ``pos_embed``, ``blocks.{i}.norm1``,
``blocks.{i}.attn.{q,k,v,proj}``, ``blocks.{i}.norm2``, ``blocks.{i}.mlp.{fc1,fc2}``, ``norm``,
``head``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Attention", "EncoderBlock", "VisionTransformer", "vit_small", "vit_tiny"]

LAYER_NORM_EPS = 1e-6  # the value of the ViT and DeiT reference code
POS_EMBED_INIT_STD = 0.02  # truncated normal, as in the DeiT reference code


class Attention(nn.Module):
    """Multi-head self-attention, Vaswani et al. (NeurIPS 2017) Eq. 1, with visible matmuls."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        if dim % num_heads != 0:
            raise ValueError(f"dim must be a multiple of num_heads ({num_heads}), not {dim}")
        self.num_heads = num_heads
        self.head_dim = dim // num_heads
        self.scale = self.head_dim**-0.5
        self.q = nn.Linear(dim, dim)
        self.k = nn.Linear(dim, dim)
        self.v = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        # (B, N, dim) -> (B, heads, N, head_dim); constants only, so fx traces it statically.
        return x.unflatten(-1, (self.num_heads, self.head_dim)).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self._split_heads(self.q(x))
        k = self._split_heads(self.k(x))
        v = self._split_heads(self.v(x))
        scores = torch.matmul(q, k.transpose(-2, -1)) * self.scale  # (B, heads, N, N)
        attn = torch.softmax(scores, dim=-1)
        out = torch.matmul(attn, v).transpose(1, 2).flatten(2)  # (B, N, dim)
        return self.proj(out)


class Mlp(nn.Module):
    """The encoder's two-layer GELU MLP (Dosovitskiy et al., Eq. 3)."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class EncoderBlock(nn.Module):
    """Pre-norm encoder block: ``x + attn(norm1(x))``, then ``x + mlp(norm2(x))`` (Eq. 2-3)."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.attn = Attention(dim, num_heads)
        self.norm2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.mlp = Mlp(dim, mlp_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


class PatchEmbed(nn.Module):
    """Cut the image into ``patch x patch`` patches and embed each: a strided convolution."""

    def __init__(self, image_size: int, patch_size: int, in_channels: int, dim: int) -> None:
        super().__init__()
        if image_size % patch_size != 0:
            raise ValueError(
                f"image_size must be a multiple of patch_size ({patch_size}), not {image_size}"
            )
        self.num_patches = (image_size // patch_size) ** 2
        self.proj = nn.Conv2d(in_channels, dim, patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x).flatten(2).transpose(1, 2)  # (B, num_patches, dim)


class VisionTransformer(nn.Module):
    """ViT classifier over the class token (Dosovitskiy et al., Eq. 1-4)."""

    def __init__(
        self,
        *,
        image_size: int,
        patch_size: int,
        dim: int,
        depth: int,
        num_heads: int,
        mlp_dim: int,
        num_classes: int,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        self.image_size = image_size
        self.patch_embed = PatchEmbed(image_size, patch_size, in_channels, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, self.patch_embed.num_patches + 1, dim))
        self.blocks = nn.Sequential(*(EncoderBlock(dim, num_heads, mlp_dim) for _ in range(depth)))
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.head = nn.Linear(dim, num_classes)
        nn.init.trunc_normal_(self.pos_embed, std=POS_EMBED_INIT_STD)
        nn.init.trunc_normal_(self.cls_token, std=POS_EMBED_INIT_STD)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch_embed(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1) + self.pos_embed
        x = self.norm(self.blocks(x))
        return self.head(x[:, 0])


def vit_small(
    *,
    dim: int = 128,
    depth: int = 4,
    num_heads: int = 4,
    mlp_dim: int = 256,
    num_classes: int = 10,
) -> VisionTransformer:
    """A small ViT for 32x32 (CIFAR-sized) images: 64 patches of 4x4, 4 blocks of width 128.

    Not a published configuration; sized so that simulations and searches stay fast.
    """
    return VisionTransformer(
        image_size=32,
        patch_size=4,
        dim=dim,
        depth=depth,
        num_heads=num_heads,
        mlp_dim=mlp_dim,
        num_classes=num_classes,
    )


def vit_tiny(*, num_classes: int = 1000) -> VisionTransformer:
    """ViT-Ti/16 at 224x224, the DeiT-Tiny architecture: 5,717,416 parameters.

    Touvron et al., "Training data-efficient image transformers & distillation through
    attention", ICML 2021, Table 1: width 192, 12 blocks, 3 heads, MLP 768, patch 16.
    """
    return VisionTransformer(
        image_size=224,
        patch_size=16,
        dim=192,
        depth=12,
        num_heads=3,
        mlp_dim=768,
        num_classes=num_classes,
    )
