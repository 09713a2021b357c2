"""The eq. 5 input of the global selector (per-frame vs cumulative)."""

import torch

from models.selectors.global_selector import GlobalSelector, draw_partners


def test_gamma_input_modes_share_weights_but_weigh_different_inputs() -> None:
    torch.manual_seed(0)
    frames, mask = torch.randn(2, 6, 8), torch.ones(2, 6, dtype=torch.bool)
    partners = draw_partners(mask, torch.Generator().manual_seed(1))
    cumulative = GlobalSelector(8, 3, hidden_dim=16, gamma_input="cumulative").eval()
    per_frame = GlobalSelector(8, 3, hidden_dim=16, gamma_input="frame").eval()
    per_frame.load_state_dict(cumulative.state_dict())

    gamma_cumulative = cumulative(frames, mask, partners).gamma
    gamma_frame = per_frame(frames, mask, partners).gamma

    assert gamma_frame.shape == gamma_cumulative.shape == (2, 6)
    assert torch.allclose(gamma_frame[:, 0], gamma_cumulative[:, 0])  # omega_1 is the first frame's own term
    assert not torch.allclose(gamma_frame[:, 1:], gamma_cumulative[:, 1:])
