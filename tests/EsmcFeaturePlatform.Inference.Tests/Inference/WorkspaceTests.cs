using EsmcFeaturePlatform.Inference.TorchSharp.Model;
using Xunit;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>
/// The reused output buffers (<see cref="Workspace"/>): a slot keeps its memory from one call to the next while the request
/// fits, so the largest matmul outputs are not allocated (and page-faulted) anew per block.
/// </summary>
public sealed class WorkspaceTests
{
    [Fact]
    public void A_slot_reuses_its_memory_until_a_request_outgrows_it()
    {
        using var workspace = new Workspace();
        var first = workspace.Rows("gate|up", 300, 64, ScalarType.Float32, CPU);
        first.fill_(7f);
        // Smaller and equal requests, with a fresh Device object each time (as tensor.device returns one), get the same
        // memory: a write through the later view shows through the first view. (A reallocated buffer would leave the first
        // view on its own, old storage, holding 7s, whatever the allocator hands back.)
        var smaller = workspace.Rows("gate|up", 100, 64, ScalarType.Float32, empty(1).device);
        Assert.Equal([100L, 64L], smaller.shape);
        smaller.fill_(5f);
        Assert.True(first.narrow(0, 0, 100).eq(5f).all().item<bool>());
        Assert.True(first.narrow(0, 100, 200).eq(7f).all().item<bool>());
        workspace.Rows("gate|up", 300, 64, ScalarType.Float32, new Device("cpu")).fill_(6f);
        Assert.True(first.eq(6f).all().item<bool>());
        // Another slot has its own memory.
        workspace.Rows("q", 300, 64, ScalarType.Float32, CPU).fill_(3f);
        Assert.True(first.eq(6f).all().item<bool>());
        // A larger request, or another dtype, gets a buffer of its own size and type.
        Assert.Equal([301L, 64L], workspace.Rows("gate|up", 301, 64, ScalarType.Float32, CPU).shape);
        Assert.Equal(ScalarType.Float64, workspace.Rows("gate|up", 10, 64, ScalarType.Float64, CPU).dtype);
    }
}
