"""WebShop (Yao et al., 2022) as a gentax domain: a faithful text-mode simulator over a
bundled, generated catalogue, or over WebShop's own data files. See docs/webshop.md."""

from gentax.envs.webshop.env import WebShopEnv

__all__ = ["WebShopEnv"]
