using Microsoft.SemanticKernel;
using ChatTokenUsage = OpenAI.Chat.ChatTokenUsage;

namespace EsmcFeaturePlatform.Agents;

/// <summary>Token counts as the endpoint reported them in each response's usage block.</summary>
internal static class TokenUsage
{
    public static (int Prompt, int Completion) Of(ChatMessageContent message)
    {
        if (message.Metadata is { } md && md.TryGetValue("Usage", out var u) && u is ChatTokenUsage usage)
            return (usage.InputTokenCount, usage.OutputTokenCount);
        return (0, 0);
    }

    /// <summary>FNV-1a: string.GetHashCode is randomized per process, and sampling must be repeatable.</summary>
    public static int StableSeed(string text)
    {
        var h = 2166136261u;
        foreach (var c in text) { h ^= c; h *= 16777619u; }
        return (int)(h & 0x7fffffff);
    }
}
