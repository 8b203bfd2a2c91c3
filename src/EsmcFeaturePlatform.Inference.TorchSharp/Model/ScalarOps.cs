using TorchSharp;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Model;

/// <summary>
/// The tensor operations of the inference path that take a scalar, each holding its <see cref="Scalar"/> until the
/// native call has returned.
/// </summary>
/// <remarks>
/// TorchSharp's implicit conversions (<c>a + b</c> is <c>a.add(b, 1)</c>; <c>t.div(2.0)</c>; <c>arange(0, n, 1)</c>)
/// create Scalars that only their finalizers free, and nothing keeps them reachable during the native call, so
/// under GC pressure a finalizer can free one mid-call. Seen here: an ESMC-300M indexing job failed with "Expected
/// false to be true" from c10 <c>Scalar::toFloat</c> inside <c>add_Tensor</c> (dotnet/TorchSharp#1434 and #1496
/// are about the same implicit Scalars). A <c>using</c> keeps each Scalar alive to the end of the call and frees it
/// at once. The Scalar types are the ones the implicit conversions made, so results are bit for bit the same.
/// </remarks>
internal static class ScalarOps
{
    /// <summary><c>a + b</c>.</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => With(1.ToScalar(), one => a.add(b, one));

    /// <summary><c>a += b</c> in place (only on a tensor nothing else holds); the same sum as <see cref="Plus(Tensor, Tensor)"/>.</summary>
    public static Tensor PlusInPlace(this Tensor a, Tensor b) => With(1.ToScalar(), one => a.add_(b, one));

    /// <summary><c>a + value</c>.</summary>
    public static Tensor Plus(this Tensor a, double value) => With(value.ToScalar(), s => With(1.ToScalar(), one => a.add(s, one)));

    /// <summary><c>a + value</c> for an integer tensor (an int64 Scalar keeps the result integer; a double would promote it to float).</summary>
    public static Tensor Plus(this Tensor a, long value) => With(value.ToScalar(), s => With(1.ToScalar(), one => a.add(s, one)));

    public static Tensor DividedBy(this Tensor a, double value) => With(value.ToScalar(), s => a.div(s));

    public static Tensor DividedBy(this Tensor a, long value) => With(value.ToScalar(), s => a.div(s));

    /// <summary><c>a /= value</c> in place (only on a tensor nothing else holds).</summary>
    public static Tensor DividedInPlaceBy(this Tensor a, double value) => With(value.ToScalar(), s => a.div_(s));

    public static Tensor AtLeast(this Tensor a, double min) => With(min.ToScalar(), s => a.clamp_min(s));

    /// <summary><c>full(shape, value)</c>.</summary>
    public static Tensor Filled(long[] shape, float value, Device device) => With(value.ToScalar(), s => full(shape, s, device: device));

    /// <summary><c>arange(0, stop, 1)</c>.</summary>
    public static Tensor Range(long stop, ScalarType dtype, Device device) =>
        With(0.ToScalar(), start => With(stop.ToScalar(), end => With(1.ToScalar(), step => arange(start, end, step, dtype, device))));

    /// <summary>Runs <paramref name="op"/> and frees <paramref name="scalar"/> when the native call has returned.</summary>
    private static Tensor With(Scalar scalar, Func<Scalar, Tensor> op)
    {
        using (scalar) return op(scalar);
    }
}
