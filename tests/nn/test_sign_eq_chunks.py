import pytest
import torch

from pyg_signeq.data import barabasi_albert
from pyg_signeq.nn import SignEqNet
from pyg_signeq.testing import assert_equivariant

NUM_NODES = 60
K = 5


def _graph(with_batch: bool):
    edge_index = barabasi_albert(NUM_NODES, 3, 0)
    batch = None
    if with_batch:
        # Three graphs of 20 nodes, so chunks cut across graphs.
        size = NUM_NODES // 3
        edge_index = torch.cat(
            [barabasi_albert(size, 3, i) + i * size for i in range(3)],
            dim=1,
        )
        batch = torch.arange(NUM_NODES) // size
    pe = torch.randn(
        NUM_NODES, K, generator=torch.Generator().manual_seed(1)
    ).double()
    return pe, edge_index, batch


def _net(chunk_size):
    torch.manual_seed(0)
    return SignEqNet(
        1, 8, 4, num_layers=3, k=K, rescale=True, chunk_size=chunk_size
    ).double()


@pytest.mark.parametrize("with_batch", [False, True])
@pytest.mark.parametrize("chunk_size", [7, 59])
def test_chunks_give_the_same_output_and_gradients(with_batch, chunk_size):
    pe, edge_index, batch = _graph(with_batch)
    whole, chunked = _net(None), _net(chunk_size)
    outputs, grads = [], []
    for net in (whole, chunked):
        out = net(pe, edge_index, batch=batch)
        outputs.append(out)
        grads.append(
            torch.autograd.grad(out.pow(2).sum(), list(net.parameters()))
        )
    torch.testing.assert_close(outputs[0], outputs[1], atol=1e-12, rtol=0)
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)
    with torch.no_grad():
        torch.testing.assert_close(
            chunked(pe, edge_index, batch=batch),
            outputs[0],
            atol=1e-12,
            rtol=0,
        )


@pytest.mark.parametrize("with_batch", [False, True])
def test_chunked_net_stays_sign_and_permutation_equivariant(with_batch):
    pe, edge_index, batch = _graph(with_batch)
    net = _net(16)
    assert_equivariant(
        lambda v, e, **kw: net(v, e, **kw),
        pe,
        edge_index,
        batch=batch,
        num_trials=2,
        generator=torch.Generator().manual_seed(3),
    )


def test_chunk_size_must_be_a_positive_int():
    with pytest.raises(ValueError, match="'chunk_size'"):
        SignEqNet(chunk_size=0)
