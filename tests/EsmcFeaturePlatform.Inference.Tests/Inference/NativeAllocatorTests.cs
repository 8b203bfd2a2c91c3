using EsmcFeaturePlatform.Inference.TorchSharp.Runtime;
using Xunit;

namespace EsmcFeaturePlatform.Inference.Tests.Inference;

/// <summary>Esmc:Inference:KeepFreedNativeMemory reaches glibc (the machine type runs Debian, so glibc is there to take it).</summary>
public sealed class NativeAllocatorTests
{
    [Fact]
    public void The_allocator_setting_is_accepted_by_glibc_and_applying_it_again_is_harmless()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/lib/x86_64-linux-gnu/libc.so.6")) return;   // not glibc on x64: nothing to tune
        Assert.True(NativeAllocator.KeepFreedMemory());
        Assert.True(NativeAllocator.KeepFreedMemory());
    }
}
