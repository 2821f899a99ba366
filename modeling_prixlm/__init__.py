"""Prix-LM model code. This folder is what the Hub runs with `trust_remote_code=True`:
its files import only torch, transformers and each other (relative imports)."""

from .configuration_prixlm import PrixLMConfig
from .encoder_prixlm import PrixLMModel
from .modeling_prixlm import PrixLMForCausalKB

__all__ = ["PrixLMConfig", "PrixLMForCausalKB", "PrixLMModel"]
