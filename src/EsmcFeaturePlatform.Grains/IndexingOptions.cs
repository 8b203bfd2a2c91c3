using EsmcFeaturePlatform.Abstractions.Configuration;

namespace EsmcFeaturePlatform.Grains;

/// <summary>Indexing and job settings, bound from <see cref="SectionName"/>.</summary>
public sealed class IndexingOptions : IValidatedOptions
{
    public static string SectionName => "Esmc:Indexing";

    /// <summary>Proteins per indexing batch: the unit of claiming, aggregation and feature writes.</summary>
    public int MaxBatchProteins { get; set; } = 32;

    /// <summary>Residues per indexing batch (a batch always holds at least one protein).</summary>
    public int MaxBatchResidues { get; set; } = 16384;

    /// <summary>Batches being encoded ahead of the one being aggregated, spread over the silos' workers.</summary>
    public int PipelineDepth { get; set; } = 4;

    /// <summary>
    /// Batches in a job's first write window, and the fewest in any window: consecutive batches are folded into one
    /// feature-write round (and one commit), so each feature page with an active feature is written once per window
    /// instead of once per batch. Later windows grow by <see cref="TargetWriteShare"/>. Progress moves by one window at a time.
    /// </summary>
    public int WindowBatches { get; set; } = 8;

    /// <summary>
    /// Windows grow until the previous window's feature-page writes took at most this share of a window's encoding
    /// time, so storage cost stays a small fraction of inference whatever the codebook and the model (a window's
    /// writes scale with the pages holding features that fired, its encoding with its residues). 0 keeps every window at
    /// <see cref="WindowBatches"/>.
    /// </summary>
    public double TargetWriteShare { get; set; } = 0.05;

    /// <summary>
    /// The longest a window may encode before it is written and committed, whatever <see cref="TargetWriteShare"/>
    /// asks: it bounds the time between progress updates and the work redone after a lost silo.
    /// </summary>
    public TimeSpan MaxWindowDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The most batches in one window (0: no limit but <see cref="MaxWindowDuration"/>).</summary>
    public int MaxWindowBatches { get; set; }

    /// <summary>Feature-page writes in flight per window (each is one storage write of 256 features); the rest wait their turn.</summary>
    public int MaxConcurrentPageWrites { get; set; } = 64;

    /// <summary>Examples kept per feature for quantile sampling (a uniform sample of the proteins it fires in).</summary>
    public int SampleCapacity { get; set; } = 64;

    /// <summary>Upper bound on indexCorpus(topExamples): feature state grows with it.</summary>
    public int MaxTopExamples { get; set; } = 1000;

    /// <summary>How often each silo revives unfinished jobs whose silo was lost.</summary>
    public TimeSpan WatchdogInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Attempts for a batch step that failed for a transient reason (lost silo, timeout, full queue).</summary>
    public int TransientRetries { get; set; } = 10;

    /// <summary>Skipped records shown with their reasons in the job itself (Job.firstSkipped); all are in Job.skippedRecords.</summary>
    public int FirstSkippedShown { get; set; } = 20;

    /// <summary>
    /// Skipped records kept per job for Job.skippedRecords (one grain state: this bounds its size, about 200 bytes each);
    /// past it only the count grows, and the list says how many it left out.
    /// </summary>
    public int MaxSkippedRecordsKept { get; set; } = 100_000;

    public void Validate()
    {
        if (MaxBatchProteins < 1) throw new ArgumentException($"{SectionName}:MaxBatchProteins must be positive; got {MaxBatchProteins}.");
        if (MaxBatchResidues < 1) throw new ArgumentException($"{SectionName}:MaxBatchResidues must be positive; got {MaxBatchResidues}.");
        if (PipelineDepth < 1) throw new ArgumentException($"{SectionName}:PipelineDepth must be positive; got {PipelineDepth}.");
        if (WindowBatches < 1) throw new ArgumentException($"{SectionName}:WindowBatches must be positive; got {WindowBatches}.");
        if (TargetWriteShare is < 0 or >= 1 || double.IsNaN(TargetWriteShare)) throw new ArgumentException($"{SectionName}:TargetWriteShare must be in [0, 1); got {TargetWriteShare}.");
        if (MaxWindowDuration <= TimeSpan.Zero) throw new ArgumentException($"{SectionName}:MaxWindowDuration must be positive.");
        if (MaxWindowBatches < 0) throw new ArgumentException($"{SectionName}:MaxWindowBatches must not be negative; got {MaxWindowBatches}.");
        if (MaxConcurrentPageWrites < 1) throw new ArgumentException($"{SectionName}:MaxConcurrentPageWrites must be positive; got {MaxConcurrentPageWrites}.");
        if (SampleCapacity < 0) throw new ArgumentException($"{SectionName}:SampleCapacity must not be negative; got {SampleCapacity}.");
        if (MaxTopExamples < 1) throw new ArgumentException($"{SectionName}:MaxTopExamples must be positive; got {MaxTopExamples}.");
        if (WatchdogInterval <= TimeSpan.Zero) throw new ArgumentException($"{SectionName}:WatchdogInterval must be positive.");
        if (TransientRetries < 0) throw new ArgumentException($"{SectionName}:TransientRetries must not be negative.");
        if (FirstSkippedShown < 0) throw new ArgumentException($"{SectionName}:FirstSkippedShown must not be negative; got {FirstSkippedShown}.");
        if (MaxSkippedRecordsKept < 0) throw new ArgumentException($"{SectionName}:MaxSkippedRecordsKept must not be negative; got {MaxSkippedRecordsKept}.");
    }
}
