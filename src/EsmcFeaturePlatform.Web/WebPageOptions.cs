namespace EsmcFeaturePlatform.Web;

/// <summary>Where the page's files are (Esmc:Web:Root; default: esmc-web beside the binaries).</summary>
/// <remarks>
/// The web project references nothing of the platform's (the dependency rule), so this record is read by hand from
/// its one key rather than through the platform's options binding (ValidatedOptions).
/// </remarks>
public sealed record WebPageOptions(string Root)
{
    public const string SectionName = "Esmc:Web";
}
