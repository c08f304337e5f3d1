"""PyTorch's time per training step on bench/run.ts's workloads, for a side-by-side table.

Not a dependency of biocredit or its tests: PyTorch comes from Debian
(`apt-get install python3-torch libopenblas0-pthread`, 1.13 on Debian 12; its
products go through the system's libblas.so.3, which without OpenBLAS is the
slow reference BLAS). Run it with /usr/bin/python3 (Debian's). One thread (PyTorch's
default on a 2-core machine), random data of the workloads' shapes (the time
of a step does not depend on the digits), Adam 1e-3, the same sizes as
bench/run.ts:

  mlp       MLP 784-256-256-10, batch 128, cross-entropy
  mlp-1024  MLP 784-1024-512-10, batch 128
  lenet     LeNet-5 c6k5-m2-c16k5v-m2-d120-d84, batch 64
  rnn-bptt  rate RNN N 256 (Dale mask 80% E, tanh), batch 32, T 200, α 0.1,
            squared error on every step, BPTT (autograd through the unrolled steps)
  vnn-gevb  vectorized nonnegative network 784·10-1024-512-1 (K = 10), batch 128,
            cross-entropy on the output vector, GEVB's updates formed by hand
            (the reference's set_model_grads) and the nonnegative weights
            projected after every step

Prints one JSON object per workload: {"workload", "msPerStep", "steps", "torch"};
`npm run bench -- --compare-file FILE` reads these lines.

  python3 bench/pytorch.py [--workloads mlp,lenet] [--steps 50] > torch.jsonl
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def mlp(widths):
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(nn.Flatten(), *layers[:-1])


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


class RateRnn(nn.Module):
    """x_{t+1} = (1 − α) x_t + α (tanh(x_t) (J ⊙ M) + u_t W_in + b), z_t = tanh(x_{t+1}) W_out + b_out."""

    def __init__(self, n, inputs, outputs, alpha):
        super().__init__()
        self.alpha = alpha
        self.J = nn.Parameter(torch.randn(n, n) * 1.5 / n ** 0.5)
        # Dale's law as biocredit's --dale 0.8: no autapses, row j keeps the sign of unit j (projected after each step).
        self.register_buffer('mask', 1 - torch.eye(n))
        self.register_buffer('signs', torch.where(torch.arange(n) < int(0.8 * n), 1.0, -1.0)[:, None])
        self.Win = nn.Parameter(torch.randn(inputs, n))
        self.b = nn.Parameter(torch.zeros(n))
        self.Wout = nn.Parameter(torch.randn(n, outputs) / n ** 0.5)
        self.bout = nn.Parameter(torch.zeros(outputs))

    def project(self):
        with torch.no_grad():
            self.J.copy_(torch.where(self.J * self.signs < 0, torch.zeros_like(self.J), self.J))

    def forward(self, u):
        J = self.J * self.mask
        x = u.new_zeros(u.shape[0], self.J.shape[0])
        zs = []
        for t in range(u.shape[1]):
            x = (1 - self.alpha) * x + self.alpha * (torch.tanh(x) @ J + u[:, t] @ self.Win + self.b)
            zs.append(torch.tanh(x) @ self.Wout + self.bout)
        return torch.stack(zs, 1)


class Vnn(nn.Module):
    """Clark et al.'s VNN as models/vnn.ts: a mixed-sign first layer per component, nonnegative
    shared weights after it, vectorized ReLU gates t ∈ {±1}^K, one output vector unit."""

    def __init__(self, inputs, widths, k):
        super().__init__()
        self.k = k
        sizes = [inputs] + widths
        self.W = nn.ParameterList([nn.Parameter(torch.randn(inputs, k * widths[0]) / inputs ** 0.5)] +
                                  [nn.Parameter(torch.rand(a, b) * 2 / a ** 0.5) for a, b in zip(sizes[1:-1], sizes[2:])] +
                                  [nn.Parameter(torch.rand(widths[-1], 1) / widths[-1] ** 0.5)])
        self.b = nn.ParameterList([nn.Parameter(torch.zeros(k, n)) for n in widths] + [nn.Parameter(torch.zeros(k))])
        for i, n in enumerate(widths):
            t = torch.where(torch.rand(k, n // 2) < 0.5, 1.0, -1.0)
            self.register_buffer(f't{i}', torch.stack([t, -t], 2).reshape(k, n))

    def gates(self, a, i):
        return ((a * getattr(self, f't{i}')).sum(1) >= 0).float()  # [B, n]

    def forward(self, x, trace=None):
        b = x.shape[0]
        h = x
        for i, (W, bias) in enumerate(zip(self.W, self.b)):
            if i == 0:
                a = (x @ W).reshape(b, self.k, -1) + bias
            elif i < len(self.W) - 1:
                a = h @ W + bias
            else:
                if trace is not None:
                    trace.append((h, None))
                return (h @ W).squeeze(-1) + bias
            m = self.gates(a, i)
            if trace is not None:
                trace.append((h, m))
            h = a * m[:, None, :]

    def gevb(self, x, y):
        """GEVB's updates into .grad: e = ∂L/∂z broadcast to every active unit."""
        trace = []
        with torch.no_grad():
            z = self(x, trace)
            e = (torch.softmax(z, 1) - F.one_hot(y, self.k).float()) / x.shape[0]
            self.W[-1].grad = torch.einsum('bki,bk->i', trace[-1][0], e)[:, None]
            self.b[-1].grad = e.sum(0)
            for i, (inp, m) in enumerate(trace[:-1]):
                self.b[i].grad = e.t() @ m
                if i == 0:
                    self.W[0].grad = x.t() @ (e[:, :, None] * m[:, None, :]).reshape(x.shape[0], -1)
                else:
                    self.W[i].grad = torch.einsum('bki,bk->bi', inp, e).t() @ m
        return F.cross_entropy(z, y)

    def project(self):
        with torch.no_grad():
            for W in self.W[1:]:
                W.clamp_(min=0)


def workloads():
    ce = lambda out, y: F.cross_entropy(out, y)
    mse = lambda out, y: 0.5 * ((out - y) ** 2).mean()
    return {
        'mlp': (lambda: mlp([784, 256, 256, 10]), lambda: (torch.randn(128, 784), torch.randint(0, 10, (128,))), ce),
        'mlp-1024': (lambda: mlp([784, 1024, 512, 10]), lambda: (torch.randn(128, 784), torch.randint(0, 10, (128,))), ce),
        'lenet': (lenet, lambda: (torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))), ce),
        'rnn-bptt': (lambda: RateRnn(256, 1, 1, 0.1), lambda: (torch.randn(32, 200, 1), torch.randn(32, 200, 1)), mse),
        'vnn-gevb': (lambda: Vnn(784, [1024, 512], 10), lambda: (torch.randn(128, 784), torch.randint(0, 10, (128,))), None),
    }


def measure(name, steps):
    make, data, loss_fn = workloads()[name]
    torch.manual_seed(0)
    model = make()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = data()
    times = []
    for i in range(steps + 3):
        t0 = time.perf_counter()
        opt.zero_grad()
        if hasattr(model, 'gevb'):
            model.gevb(x, y)
        else:
            loss = loss_fn(model(x), y)
            loss.backward()
        opt.step()
        if hasattr(model, 'project'):
            model.project()
        if i >= 3:  # the first steps allocate
            times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--workloads', default=','.join(workloads()))
    p.add_argument('--steps', type=int, default=30)
    a = p.parse_args()
    torch.set_num_threads(1)
    for name in a.workloads.split(','):
        if name not in workloads():
            raise SystemExit(f'unknown workload {name}; known: {", ".join(workloads())}')
        steps = a.steps if not name.startswith(('rnn', 'vnn')) else min(a.steps, 10)
        print(json.dumps({'workload': name, 'msPerStep': round(measure(name, steps), 3), 'steps': steps, 'torch': torch.__version__}), flush=True)


if __name__ == '__main__':
    main()
