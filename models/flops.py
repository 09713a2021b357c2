"""FLOPs counted by torch.utils.flop_counter on a real forward pass (SMART.md section 8: not by hand).

The counter knows matmuls and convolutions but not the fused recurrent kernels that nn.LSTM dispatches to
(oneDNN on CPU, cuDNN on CUDA), so those get a formula here: 2 * steps * batch * 4H * (input + H).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode


def _lstm_layer_flops(steps_times_batch: int, input_to_hidden: Any, hidden_to_hidden: Any) -> int:
    gates, input_size = input_to_hidden
    hidden_size = hidden_to_hidden[1]
    return 2 * steps_times_batch * gates * (input_size + hidden_size)


def _mkldnn_rnn_layer_flops(input_shape: Any, w_ih: Any, w_hh: Any, *args: Any, out_shape: Any = None,
                            **kwargs: Any) -> int:
    return _lstm_layer_flops(input_shape[0] * input_shape[1], w_ih, w_hh)


def _cudnn_rnn_flops(input_shape: Any, weights: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    steps_times_batch = input_shape[0] * input_shape[1]
    # weights: [w_ih, w_hh, (b_ih, b_hh)] per layer
    return sum(_lstm_layer_flops(steps_times_batch, weights[i], weights[i + 1]) for i in range(0, len(weights), 4))


# Keys are overload packets: the counter looks ops up by packet.
_RECURRENT_FORMULAS: dict[Any, Callable[..., int]] = {torch.ops.aten.mkldnn_rnn_layer: _mkldnn_rnn_layer_flops}
if hasattr(torch.ops.aten, "_cudnn_rnn"):
    _RECURRENT_FORMULAS[torch.ops.aten._cudnn_rnn] = _cudnn_rnn_flops


def count_flops(forward: Callable[[], object]) -> int:
    """FLOPs of one call of `forward` (a closure over the module and its inputs), without grad."""
    counter = FlopCounterMode(display=False, custom_mapping=_RECURRENT_FORMULAS)
    with counter, torch.no_grad():
        forward()
    return int(counter.get_total_flops())
