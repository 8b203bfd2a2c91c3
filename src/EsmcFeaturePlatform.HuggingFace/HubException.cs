namespace EsmcFeaturePlatform.HuggingFace;

/// <summary>A pull that cannot go on, with a message that names the repository, file or setting and the fix.</summary>
public sealed class HubException(string message, Exception? inner = null) : IOException(message, inner);
