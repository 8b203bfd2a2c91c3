using EsmcFeaturePlatform.Abstractions.Files;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Abstractions;
using Microsoft.Extensions.Options;
using System.Globalization;
using System.Text.Json;

namespace EsmcFeaturePlatform.GraphQL;

/// <summary>Floats leave the API as the shortest decimal that round-trips the float (0.1f is 0.1, not 0.10000000149).</summary>
public static class FloatOutput
{
    public static double ToDouble(float value) => double.Parse(value.ToString("R", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
}
