"""Prix-LM model code. This folder is what the Hub runs with `trust_remote_code=True`:
its files import only torch, transformers and each other (relative imports)."""

from .configuration_prixlm import PrixLMConfig
from .modeling_prixlm import PrixLMForCausalKB, PrixLMModel

__all__ = ["PrixLMConfig", "PrixLMForCausalKB", "PrixLMModel"]
