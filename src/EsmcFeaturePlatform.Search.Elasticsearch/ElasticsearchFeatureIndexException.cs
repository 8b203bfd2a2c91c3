namespace EsmcFeaturePlatform.Search.Elasticsearch;

/// <summary>Elasticsearch refused or failed a request; the message names the operation and the server's reason.</summary>
public sealed class ElasticsearchFeatureIndexException(string message, int? statusCode = null, Exception? inner = null)
    : Exception(message, inner)
{
    public int? StatusCode { get; } = statusCode;
}
