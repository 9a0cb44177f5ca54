"""The PyTorch counterpart of a native model, for the benchmarks: nn.RNN (tanh) / nn.LSTM / nn.GRU
of L layers + nn.Linear holding a copy of the native parameters, and a training step that does what
the native Trainer does (batching, loss, elementwise clipping, optimizer, state carried over).
Not part of the package and never a dependency: callers that could import torch pass it in.
"""

from __future__ import annotations

import numpy as np

# The input is one-hot, as char-rnn feeds it: torch's U x_t is then the native U.col(x_t), the same
# model with the same parameters. (An nn.Embedding in front, as torch-rnn has, would add a K x K
# table the native model does not have.) Torch multiplies the one-hot vector by U, 2 G m K FLOPs a
# character for G gate blocks, where the native core adds one column: part of what is compared.


def torch_model(torch, params, dtype: str = "float64", dropout: float = 0.0):
    """(rnn, out): the torch modules, in `dtype`, holding a copy of params (Params or Params32).

    The native cells use PyTorch's gate orders (lstm i f g o, gru r z n, gru's b_hn inside
    r .* (W_n h + b_hn)), so the weights copy over one to one; torch's second bias is zero,
    except its n rows for gru, which are bn. It also stays so: torch trains both biases, and
    the sum of the two would move twice as fast as the native b under Adam (whose first steps
    are about eta sign(g) for every parameter). So the second bias is frozen (rnn, lstm), or
    trained in its n rows only (gru), and the trainable parameters are the native ones.
    dropout: nn.RNN/LSTM/GRU's own, between layers (the caller drops the top layer's output,
    which together is char-rnn's placement and the native core's)."""
    dt = getattr(torch, dtype)
    cell, L, m, K = params.cell, params.layers, params.m, params.K
    module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    options = {"nonlinearity": "tanh"} if cell == "rnn" else {}
    rnn = module(K, m, num_layers=L, dropout=dropout if L > 1 else 0.0, **options).to(dt)
    out = torch.nn.Linear(m, K).to(dt)
    arrays = {
        (e["role"], e["layer"]): torch.from_numpy(np.array(params[e["name"]]))
        for e in params.layout
    }
    with torch.no_grad():
        for l in range(1, L + 1):
            getattr(rnn, f"weight_ih_l{l - 1}").copy_(arrays["U", l])
            getattr(rnn, f"weight_hh_l{l - 1}").copy_(arrays["W", l])
            getattr(rnn, f"bias_ih_l{l - 1}").copy_(arrays["b", l])
            bias_hh = getattr(rnn, f"bias_hh_l{l - 1}")
            bias_hh.zero_()
            if cell == "gru":
                bias_hh[2 * m :].copy_(arrays["bn", l])
                rz = torch.ones(3 * m, dtype=dt)
                rz[: 2 * m] = 0
                bias_hh.register_hook(lambda g, rz=rz: g * rz)
            else:
                bias_hh.requires_grad_(False)
        out.weight.copy_(arrays["V", 0])
        out.bias.copy_(arrays["c", 0])
    return rnn, out


def torch_optimizer(torch, parameters, optimizer: str, eta: float, eps: float, decay: float):
    """The torch optimizer computing the native update. Adagrad differs in one place: torch adds
    eps outside the square root, the native step inside (losses agree at the first step only)."""
    if optimizer == "adagrad":
        return torch.optim.Adagrad(parameters, lr=eta, eps=eps)
    if optimizer == "rmsprop":
        return torch.optim.RMSprop(parameters, lr=eta, alpha=decay, eps=eps)
    if optimizer == "adam":
        # fused: torch's fastest Adam on the CPU (its default per-tensor loop took ~20% longer
        # per step at batch 1). Betas are both sides' defaults, 0.9 and 0.999.
        return torch.optim.Adam(parameters, lr=eta, eps=eps, fused=True)
    raise ValueError(f"unknown optimizer {optimizer!r}")


class TorchTrainer:
    """One training step per call, as the native Trainer runs it: B streams at B evenly spaced
    offsets of the text (stream j walks text[j*chunk:(j+1)*chunk], chunk = len(text) // B) in
    windows of T+1 characters; the state carried over, detached (truncated BPTT), and reset to
    zero when the epoch wraps; the loss summed over T and averaged over the batch; gradients
    clipped elementwise to [-clip, clip]; then the optimizer. dropout: on each layer's output
    (torch draws its own masks)."""

    def __init__(
        self,
        torch,
        params,
        text,
        T: int = 25,
        eta: float = 0.1,
        eps: float = 1e-8,
        clip: float = 5.0,
        *,
        batch: int = 1,
        optimizer: str = "adagrad",
        decay: float = 0.95,
        dtype: str = "float64",
        dropout: float = 0.0,
    ):
        self.torch = torch
        self.rnn, self.out = torch_model(torch, params, dtype, dropout)
        self.dropout = dropout
        self.params = [
            q for q in (*self.rnn.parameters(), *self.out.parameters()) if q.requires_grad
        ]
        self.opt = torch_optimizer(torch, self.params, optimizer, eta, eps, decay)
        self.clip, self.T, self.B = clip, T, batch
        self.K, self.m, self.L, self.cell = params.K, params.m, params.layers, params.cell
        self.dtype = getattr(torch, dtype)
        self.chunk = len(text) // batch
        self.steps_per_epoch = (self.chunk - 1) // T
        streams = np.asarray(text[: batch * self.chunk], dtype=np.int64).reshape(batch, self.chunk)
        self.text = torch.from_numpy(np.ascontiguousarray(streams.T))  # (chunk, B): stream j
        self.eye = torch.eye(self.K, dtype=self.dtype)
        self.state = self.zero_state()
        self.position = 0
        self.epoch = 0

    def zero_state(self, batch: int | None = None):
        """h = 0 (and c = 0) for `batch` streams (default: the trainer's B)."""
        h = self.torch.zeros(self.L, batch or self.B, self.m, dtype=self.dtype)
        return (h, h.clone()) if self.cell == "lstm" else h

    def step(self) -> float:
        torch, T = self.torch, self.T
        if self.position + T + 1 > self.chunk:
            self.position, self.state = 0, self.zero_state()
            self.epoch += 1
        window = self.text[self.position : self.position + T + 1]  # (T+1, B)
        hs, state = self.rnn(self.eye[window[:-1]], self.state)  # one-hot (T, B, K) -> (T, B, m)
        if self.dropout:
            hs = torch.nn.functional.dropout(hs, self.dropout, training=True)
        logits = self.out(hs).reshape(T * self.B, self.K)
        loss = (
            torch.nn.functional.cross_entropy(logits, window[1:].reshape(-1), reduction="sum")
            / self.B
        )
        self.opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_value_(self.params, self.clip)
        self.opt.step()
        self.state = tuple(s.detach() for s in state) if self.cell == "lstm" else state.detach()
        self.position += T
        return float(loss.detach())
