namespace EsmcFeaturePlatform.Inference.TorchSharp.Checkpoints;

/// <summary>A checkpoint, SAE or config file that cannot be used; the message names the file and, where relevant, the tensor.</summary>
public sealed class CheckpointException : IOException
{
    public CheckpointException(string path, string reason)
        : base($"{path}: {reason}")
    {
        FilePath = path;
        Reason = reason;
    }

    public CheckpointException(string path, string reason, Exception inner)
        : base($"{path}: {reason}", inner)
    {
        FilePath = path;
        Reason = reason;
    }

    public string FilePath { get; }

    public string Reason { get; }
}
