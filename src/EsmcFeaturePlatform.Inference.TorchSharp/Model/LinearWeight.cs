using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn.functional;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Model;

/// <summary>
/// A bias-free linear layer's weight W [out, in] (<c>y = x Wᵀ</c>): packed for MKL (<see cref="PackedMatrix"/>) when
/// asked and the weight is float32 on the CPU, the tensor otherwise (CUDA, bfloat16, a libtorch without MKL).
/// </summary>
internal sealed class LinearWeight : IDisposable
{
    private readonly Tensor? _weight;
    private readonly PackedMatrix? _packed;

    private LinearWeight(Tensor? weight, PackedMatrix? packed)
    {
        _weight = weight;
        _packed = packed;
    }

    public long OutFeatures => _packed?.OutFeatures ?? _weight!.shape[0];

    /// <summary>
    /// From a weight W [out, in]. Takes ownership of <paramref name="weight"/>; when it is packed the tensor is freed
    /// (the packed copy replaces it).
    /// </summary>
    public static LinearWeight Create(Tensor weight, bool pack)
    {
        var packed = pack ? PackedMatrix.TryPack(weight, transposed: true) : null;
        if (packed is null) return new LinearWeight(weight, null);
        weight.Dispose();
        return new LinearWeight(null, packed);
    }

    /// <summary>
    /// From a matrix M [in, out] used as <c>x M</c> (W_enc), so W = Mᵀ. Unpacked, the product is <c>addmm(x, M)</c>, the
    /// call libtorch makes for <c>x M</c>; packed, MKL's packed form of that call (<see cref="PackedMatrix"/>). Takes
    /// ownership of <paramref name="matrix"/>.
    /// </summary>
    public static LinearWeight CreateFromColumns(Tensor matrix, bool pack)
    {
        var packed = pack ? PackedMatrix.TryPack(matrix, transposed: false) : null;
        var weight = packed is null ? matrix.t() : null;   // a view: a handle of its own on the same storage
        matrix.Dispose();
        return new LinearWeight(weight, packed);
    }

    /// <summary>A fresh <c>x Wᵀ</c>: [.., in] → [.., out].</summary>
    public Tensor Apply(Tensor input) => _packed is { } p ? p.Multiply(input) : linear(input, _weight!);

    /// <summary><c>x Wᵀ</c> into <paramref name="output"/> [rows, out] (contiguous; old contents ignored) for <paramref name="input"/> [rows, in].</summary>
    public void ApplyInto(Tensor input, Tensor output)
    {
        if (_packed is { } p)
        {
            p.MultiplyDenseRowsInto(input, output);
        }
        else
        {
            // beta 0: libtorch ignores the buffer's old contents and calls the same GEMM as linear().
            output.addmm_(input, _weight!.t(), beta: 0, alpha: 1);
        }
    }

    public void Dispose()
    {
        _weight?.Dispose();
        _packed?.Dispose();
    }
}
