using System.Runtime.Intrinsics;
using TorchSharp;
using static TorchSharp.torch;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Sae;

/// <summary>
/// The exact k largest values of each row, streamed over column blocks of float32 CPU tensors: one vector compare per
/// 16 values against the row's current k-th largest, and a heap update only for the few values above it.
/// </summary>
/// <remarks>
/// Why not <c>torch.topk</c>: on the CPU it copies every row into (value, index) pairs and heap-sorts them, 3-5 ns per
/// activation, a fifth of the SAE encoder's matmul time at 65,536 features (BENCHMARKS.md, section 7); this scan reads
/// each activation once. The selection is exact: a row's heap always holds the k largest values seen so far, and a value
/// enters only if it beats the smallest of them. Ties are broken by the lower feature index (the order feature lists
/// use, docs/model-math.md, section 6.4), where <c>torch.topk</c> leaves them unspecified; NaN never compares greater,
/// so it is never selected (a row short of k ordinary values is padded with -infinity at unused indices, which the
/// ReLU turns into zeros that feature lists drop). The heaps live in the caller's output arrays, k slots per row.
/// </remarks>
internal sealed unsafe class StreamingTopK
{
    private readonly int _rows;
    private readonly int _k;
    private readonly float[] _values;
    private readonly long[] _indices;
    private readonly int[] _count;
    private readonly int _threads;

    /// <summary>Selection state for <paramref name="rows"/> rows, kept in <paramref name="values"/>/<paramref name="indices"/> from <paramref name="offset"/> (k per row).</summary>
    public StreamingTopK(int rows, int k, float[] values, long[] indices, int offset, int threads)
    {
        _rows = rows;
        _k = k;
        _values = values;
        _indices = indices;
        _count = new int[rows];
        _threads = Math.Max(1, threads);
        Offset = offset;
    }

    private int Offset { get; }

    /// <summary>Takes in columns [<paramref name="firstIndex"/>, +width) of every row from <paramref name="block"/> [rows, width] (contiguous float32, CPU).</summary>
    public void Add(Tensor block, long firstIndex)
    {
        if (block.device_type != DeviceType.CPU || block.dtype != ScalarType.Float32 || !block.is_contiguous() || block.shape[0] != _rows)
            throw new ArgumentException("StreamingTopK reads contiguous float32 CPU blocks with one row per selection row.", nameof(block));
        var width = (int)block.shape[1];
        var data = Model.TensorMemory.Address(block);
        var chunks = Math.Min(_threads, _rows);
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = chunks }, chunk =>
        {
            var end = (int)((long)_rows * (chunk + 1) / chunks);
            for (var r = (int)((long)_rows * chunk / chunks); r < end; r++)
                ScanRow(r, data + (long)r * width, width, firstIndex);
        });
        GC.KeepAlive(block);
    }

    /// <summary>Sorts each row's k entries by value descending, then index ascending (and pads rows short of k).</summary>
    public void Finish()
    {
        for (var r = 0; r < _rows; r++)
        {
            var values = _values.AsSpan(Offset + r * _k, _k);
            var indices = _indices.AsSpan(Offset + r * _k, _k);
            if (_count[r] < _k) Pad(values, indices, _count[r]);
            // Insertion sort: k is small (64 in Biohub's SAEs) and the entries arrive heap-ordered.
            for (var i = 1; i < _k; i++)
            {
                var (v, x) = (values[i], indices[i]);
                var j = i - 1;
                for (; j >= 0 && (values[j] < v || (values[j] == v && indices[j] > x)); j--)
                {
                    values[j + 1] = values[j];
                    indices[j + 1] = indices[j];
                }
                values[j + 1] = v;
                indices[j + 1] = x;
            }
        }
    }

    private void ScanRow(int row, float* data, int width, long firstIndex)
    {
        var values = _values.AsSpan(Offset + row * _k, _k);
        var indices = _indices.AsSpan(Offset + row * _k, _k);
        var count = _count[row];
        var j = 0;
        // Fill the heap with the first k ordinary values of the row.
        for (; count < _k && j < width; j++)
            if (!float.IsNaN(data[j])) Push(values, indices, ref count, data[j], firstIndex + j);
        _count[row] = count;
        if (count < _k) return;
        var threshold = values[0];
        if (Vector512.IsHardwareAccelerated)
        {
            for (; j + 16 <= width; j += 16)
            {
                var mask = Vector512.GreaterThan(Vector512.Load(data + j), Vector512.Create(threshold)).ExtractMostSignificantBits();
                for (; mask != 0; mask &= mask - 1)
                    Offer(values, indices, ref threshold, data[j + (int)ulong.TrailingZeroCount(mask)], firstIndex + j + (int)ulong.TrailingZeroCount(mask));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; j + 8 <= width; j += 8)
            {
                var mask = Vector256.GreaterThan(Vector256.Load(data + j), Vector256.Create(threshold)).ExtractMostSignificantBits();
                for (; mask != 0; mask &= mask - 1)
                    Offer(values, indices, ref threshold, data[j + (int)uint.TrailingZeroCount(mask)], firstIndex + j + (int)uint.TrailingZeroCount(mask));
            }
        }
        for (; j < width; j++)
            if (data[j] > threshold) Offer(values, indices, ref threshold, data[j], firstIndex + j);
    }

    // Heap order: the root is the entry to evict first, the smallest value, and among equal values the highest index.
    private static bool Before(float v, long x, float w, long y) => v < w || (v == w && x > y);

    private void Offer(Span<float> values, Span<long> indices, ref float threshold, float v, long x)
    {
        if (!(v > threshold)) return;   // a value equal to the k-th largest loses to the lower index already held
        values[0] = v;
        indices[0] = x;
        SiftDown(values, indices, 0, _k);
        threshold = values[0];
    }

    private static void Push(Span<float> values, Span<long> indices, ref int count, float v, long x)
    {
        var i = count++;
        values[i] = v;
        indices[i] = x;
        while (i > 0)
        {
            var parent = (i - 1) / 2;
            if (!Before(values[i], indices[i], values[parent], indices[parent])) break;
            (values[i], values[parent]) = (values[parent], values[i]);
            (indices[i], indices[parent]) = (indices[parent], indices[i]);
            i = parent;
        }
    }

    private static void SiftDown(Span<float> values, Span<long> indices, int i, int count)
    {
        while (true)
        {
            var first = i;
            int left = 2 * i + 1, right = left + 1;
            if (left < count && Before(values[left], indices[left], values[first], indices[first])) first = left;
            if (right < count && Before(values[right], indices[right], values[first], indices[first])) first = right;
            if (first == i) return;
            (values[i], values[first]) = (values[first], values[i]);
            (indices[i], indices[first]) = (indices[first], indices[i]);
            i = first;
        }
    }

    private void Pad(Span<float> values, Span<long> indices, int count)
    {
        var used = new HashSet<long>();
        foreach (var x in indices[..count]) used.Add(x);
        long next = 0;
        for (var i = count; i < _k; i++)
        {
            while (used.Contains(next)) next++;
            values[i] = float.NegativeInfinity;
            indices[i] = next++;
        }
    }
}
