using System.Runtime.InteropServices;

namespace EsmcFeaturePlatform.Inference.TorchSharp.Runtime;

/// <summary>
/// Process-wide setting of the C allocator that libtorch's CPU tensors come from (<see cref="InferenceOptions.KeepFreedNativeMemory"/>).
/// </summary>
/// <remarks>
/// glibc gives freed memory back to the kernel: blocks over its mmap threshold (at most 32 MB) are unmapped on free, and
/// the top of a heap is trimmed once more than twice that is free. A forward pass allocates and frees tens of tensors
/// of 30-170 MB per block, so every one of them was page-faulted and zeroed again: 2.3 million minor faults per 9,000
/// residues of ESMC-300M and 10-11% of the process's CPU in the kernel on the 2-vCPU machine type. With trimming and
/// mmap off, freed tensors are reused from the heap: faults per workload fell from 150-710 thousand to 2-185 thousand in
/// all but one run (BENCHMARKS.md has the numbers), and system time by half (BENCHMARKS.md, section 7). The cost: the process keeps its high-water mark
/// of native memory (bounded by the batch token budget) instead of returning it between batches. glibc's per-thread
/// heaps hold at most 64 MB each (its source), so larger tensors allocated off the main thread, as the inference worker's
/// are, still get their own mapping, unmapped on free (seen with <c>perf trace</c> in session 9: a 167 MB mapping per
/// FFN output); the largest matmul outputs therefore live in a reused <see cref="Model.Workspace"/>.
/// </remarks>
internal static class NativeAllocator
{
    // glibc malloc.h.
    private const int TrimThreshold = -1;
    private const int MmapMax = -4;

    private static readonly Lazy<bool> Applied = new(Apply);

    [DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);

    /// <summary>Turns glibc's trimming and mmap use off (once per process; later calls return the first answer); false where the C library is not glibc.</summary>
    public static bool KeepFreedMemory() => Applied.Value;

    private static bool Apply()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return Mallopt(TrimThreshold, int.MaxValue) == 1 && Mallopt(MmapMax, 0) == 1;
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return false;   // musl and other C libraries: no mallopt, nothing to tune
        }
    }
}
