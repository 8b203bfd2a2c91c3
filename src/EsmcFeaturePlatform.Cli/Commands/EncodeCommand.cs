using System.Diagnostics;
using EsmcFeaturePlatform.Abstractions;
using EsmcFeaturePlatform.Abstractions.Grains;
using EsmcFeaturePlatform.Cli.CommandLine;
using EsmcFeaturePlatform.Cli.Output;
using EsmcFeaturePlatform.Corpus;
using EsmcFeaturePlatform.Inference.TorchSharp;
using EsmcFeaturePlatform.Inference.TorchSharp.Tokenization;

namespace EsmcFeaturePlatform.Cli.Commands;

/// <summary>Opens an encoder for one model + one SAE layer (the seam tests and future hosts plug into).</summary>
public delegate IFeatureEncoder EncoderOpener(string modelDirectory, string saeRepoDirectory, int layer, InferenceOptions options);

/// <summary>A single record that cannot be encoded (empty, too long, refused by the tokenizer).</summary>
public sealed class InvalidRecordException(string message) : Exception(message);

/// <summary>
/// <c>encode</c> (docs/contracts.md, section 2): FASTA in, JSON Lines of per-residue and pooled SAE features out, in
/// input order. Records stream through: they are read, checked and submitted in chunks (so the inference worker
/// can batch them by length) while earlier chunks are written, so memory holds a few chunks, never the corpus.
/// </summary>
public sealed class EncodeCommand(EncoderOpener openEncoder)
{
    /// <summary>Residue tokens per submitted chunk, and chunks in flight: enough for the worker to form full batches.</summary>
    private const int ChunkTokens = 16_384;
    private const int ChunkMaxRecords = 256;
    private const int ChunksInFlight = 2;
    private static readonly TimeSpan ProgressInterval = TimeSpan.FromSeconds(2);

    public static CommandSpec Spec { get; } = new(
        "encode",
        "Encode protein sequences with an ESMC model and one sparse-autoencoder layer; write JSON Lines.",
        """
        Output: one JSON object per FASTA record, in input order:
          {"id":"q1","length":3,"sae":"REPO/layerN","normalized":false,"residues":[[[17,2.5],[3,1.25]],[[3,0.5]],[]],"pooled":[[17,2.5],[3,1.25]]}
        residues has one feature list per residue (1..length, no <cls>/<eos>); a feature list holds [feature, value]
        pairs with value > 0, sorted by value descending then feature ascending; pooled is the max over residues.
        Values are float32 in shortest round-trip form. Progress and a summary go to stderr.
        Exit code 0 on success; 1 with a one-line reason on stderr on bad input or a model that does not load;
        2 on a bad command line; 130 when interrupted.
        """,
        [
            new OptionSpec("model", "DIR", "ESMC checkpoint folder (config.json + *.safetensors).", Required: true),
            new OptionSpec("sae", "DIR", "SAE repo folder (config.json + layer_N.safetensors).", Required: true),
            new OptionSpec("layer", "N", "SAE layer to use (reads layer_N.safetensors).", Required: true),
            new OptionSpec("fasta", "FILE", "Input FASTA, plain or gzip (detected from the content). Record id = header up to the first white space; ids must be unique.", Required: true),
            new OptionSpec("out", "FILE", "Write JSON Lines here instead of stdout. Written to FILE.partial and renamed when every record succeeded; on failure FILE.partial keeps the records before the failing one.", Default: "stdout"),
            new OptionSpec("normalize", null, "Write normalized values (raw / max * idf per feature) instead of raw activations, with the statistics the server's rule puts in effect: --stats when given (a choice of imported statistics), else the SAE's own when they are real; placeholders (all ones) without --stats are an error. Each line says which (\"normalizationSource\")."),
            new OptionSpec("stats", "FILE", "Imported normalization statistics for --normalize (an explicit choice: used instead of the SAE's own): CSV with header 'feature,max,idf' (unlisted features count as never active) or JSON {\"max\":[...],\"idf\":[...]} with one entry per feature."),
            new OptionSpec("unknown-as-unk", null, "The reference tokenizer's behaviour, for parity with Biohub: sequences go in as written (case sensitive) and characters outside the ESMC vocabulary become <unk>; each line counts them (\"unknownTokens\"). By default letters are upper-cased, white space and one trailing '*' removed, and any other character refuses the record, naming it and its position."),
            new OptionSpec("skip-invalid", null, "Skip records that cannot be encoded (empty, too long, duplicate id, <mask>) instead of stopping; each is reported on stderr and the summary gives the count."),
            new OptionSpec("max-tokens", "N", "Longest accepted record in tokens including <cls> and <eos> (residues + 2).", Default: "2048"),
            new OptionSpec("device", "auto|cpu|cuda[:N]", "Where to run the model. auto picks CUDA when libtorch sees a GPU.", Default: "auto"),
            new OptionSpec("quiet", null, "No progress or summary on stderr (errors are still printed)."),
        ]);

    public async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var parsed = Spec.Parse(args);
        var settings = Settings.From(parsed);
        var options = new InferenceOptions
        {
            MaxTokens = settings.MaxTokens,
            MaxTokensSetting = "--max-tokens",
            MaxBatchTokens = Math.Max(new InferenceOptions().MaxBatchTokens, settings.MaxTokens),
            Device = settings.Device,
        };
        options.Validate();

        var encoder = openEncoder(settings.ModelDirectory, settings.SaeDirectory, settings.Layer, options);
        try
        {
            var sae = encoder.Saes.FirstOrDefault(s => s.Layer == settings.Layer)
                ?? throw new InvalidOperationException(
                    $"SAE layer {settings.Layer} of '{settings.SaeDirectory}' did not load: "
                    + (encoder.LoadProblems.Count > 0 ? string.Join("; ", encoder.LoadProblems.Select(p => $"{p.Path}: {p.Reason}")) : "no such layer"));
            var normalization = settings.Normalize ? ChooseStatistics(encoder, sae, settings.StatsPath, stderr, settings.Quiet) : null;
            return await EncodeAllAsync(encoder, sae, normalization, settings, stdout, stderr, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            switch (encoder)
            {
                case IAsyncDisposable asyncDisposable: await asyncDisposable.DisposeAsync().ConfigureAwait(false); break;
                case IDisposable disposable: disposable.Dispose(); break;
            }
        }
    }

    /// <summary>The statistics in effect by <see cref="NormalizationPrecedence"/> (the server's rule): --stats is a choice of IMPORTED.</summary>
    private static Normalization ChooseStatistics(IFeatureEncoder encoder, SaeDescriptor sae, string? statsPath, TextWriter stderr, bool quiet)
    {
        var checkpoint = encoder.GetCheckpointStatistics(sae.Id);
        var source = NormalizationPrecedence.InEffect(
            statsPath is null ? null : NormalizationSource.Imported,
            s => s == NormalizationSource.Checkpoint && checkpoint is not null);
        var stats = source switch
        {
            NormalizationSource.Imported => StatisticsFile.Load(statsPath!, sae.CodebookSize),
            NormalizationSource.Checkpoint => checkpoint!,
            _ => throw new InvalidOperationException(
                $"SAE '{sae.Id}' has placeholder normalization statistics (max = idf = 1), so --normalize would be meaningless; pass --stats FILE with imported statistics, or drop --normalize"),
        };
        if (!quiet)
            stderr.WriteLine(source == NormalizationSource.Imported
                ? $"esmc encode: normalizing with IMPORTED statistics from '{statsPath}' (--stats{(checkpoint is not null ? ", instead of the SAE's own" : "")})"
                : "esmc encode: normalizing with the SAE's own CHECKPOINT statistics");
        return new Normalization(NormalizationPrecedence.Name(source), stats);
    }

    private sealed record Normalization(string Source, NormalizationStats Stats);

    private static async Task<int> EncodeAllAsync(
        IFeatureEncoder encoder, SaeDescriptor sae, Normalization? stats, Settings settings,
        TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var progress = new Progress(stderr, settings.Quiet);
        var partialPath = settings.OutPath is null ? null : settings.OutPath + ".partial";
        TextWriter output = stdout;
        if (partialPath is not null)
            output = new StreamWriter(partialPath, append: false, new System.Text.UTF8Encoding(false), 1 << 16);

        // Record-level problems found by the reader arrive through the callback; without --skip-invalid the first
        // one stops the run after everything before it has been written, exactly like a record the tokenizer refuses.
        string? readerFailure = null;
        var readerOptions = new CorpusReadOptions
        {
            OnInvalidRecord = settings.SkipInvalid ? problem => progress.Skipped(problem.Message) : problem => readerFailure ??= problem.Message,
        };
        var inFlight = new Queue<Chunk>();
        var chunk = new Chunk();
        try
        {
            Exception? stop = null;
            try
            {
                await foreach (var record in CorpusReader.ReadAsync(settings.FastaPath, readerOptions, cancellationToken).ConfigureAwait(false))
                {
                    if (readerFailure is not null) break;
                    if (Prepare(record, settings, progress) is not { } prepared)
                    {
                        if (!settings.SkipInvalid)
                        {
                            stop = new InvalidRecordException(progress.LastRefusal!);
                            break;
                        }
                        progress.Skipped(progress.LastRefusal!);
                        continue;
                    }
                    chunk.Add(prepared);
                    if (chunk.Tokens >= ChunkTokens || chunk.Records.Count >= ChunkMaxRecords)
                    {
                        inFlight.Enqueue(chunk.Submit(encoder, sae.Id, cancellationToken));
                        chunk = new Chunk();
                        while (inFlight.Count > ChunksInFlight)
                            await WriteChunkAsync(inFlight.Dequeue(), encoder, sae, stats, settings, output, progress, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (CorpusFormatException ex)
            {
                // The file breaks off (truncated gzip, binary data): what was read before it is still good output.
                stop = ex;
            }
            if (stop is null && readerFailure is not null) stop = new InvalidRecordException(readerFailure);

            if (chunk.Records.Count > 0) inFlight.Enqueue(chunk.Submit(encoder, sae.Id, cancellationToken));
            while (inFlight.Count > 0)
                await WriteChunkAsync(inFlight.Dequeue(), encoder, sae, stats, settings, output, progress, cancellationToken).ConfigureAwait(false);
            if (stop is not null)
            {
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(stop);
            }

            await output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (partialPath is not null)
            {
                await output.DisposeAsync().ConfigureAwait(false);
                File.Move(partialPath, settings.OutPath!, overwrite: true);
            }
            progress.Finished();
            return 0;
        }
        catch (Exception ex) when (partialPath is not null && ex is not OperationCanceledException)
        {
            await output.DisposeAsync().ConfigureAwait(false);
            throw new InvalidRecordException($"{ex.Message} ({progress.Records} records before it are in '{partialPath}'; '{settings.OutPath}' was not written)");
        }
        finally
        {
            // Let in-flight work finish or fail quietly so that no task is left unobserved.
            foreach (var pending in inFlight)
                _ = pending.Task.ContinueWith(t => t.Exception, TaskScheduler.Default);
            if (partialPath is not null) await output.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The record through the one input rule (<see cref="ProteinSequenceInput"/>; reference mode with --unknown-as-unk)
    /// and the --max-tokens limit: the record to encode, or null with the reason in <see cref="Progress.LastRefusal"/>.
    /// </summary>
    private static ProteinRecord? Prepare(ProteinRecord record, Settings settings, Progress progress)
    {
        var name = $"record {record.RecordNumber} ('{record.Id}')";
        try
        {
            var prepared = ProteinSequenceInput.Prepare(record.Sequence, name, strict: !settings.UnknownAsUnk);
            foreach (var warning in prepared.Warnings) progress.Warn($"{settings.FastaPath}: {warning}");
            EsmcTokenizer.TokenizeForSae(prepared.Residues, new SequenceLengthLimit(settings.MaxTokens, "--max-tokens"), $"'{record.Id}'");
            return record with { Sequence = prepared.Residues };
        }
        catch (InvalidSequenceException ex)
        {
            progress.LastRefusal = $"{settings.FastaPath}: {(ex.Message.StartsWith("Record ", StringComparison.Ordinal) ? "" : $"{name}: ")}{ex.Message}";
            return null;
        }
    }

    private static async Task WriteChunkAsync(
        Chunk chunk, IFeatureEncoder encoder, SaeDescriptor sae, Normalization? normalization, Settings settings,
        TextWriter output, Progress progress, CancellationToken cancellationToken)
    {
        if (chunk.Records.Count == 0) return;
        IReadOnlyList<EncodedSequence?> results;
        string? failure = null;
        try
        {
            results = await chunk.Task.ConfigureAwait(false);
        }
        catch (InvalidSequenceException)
        {
            // The encoder refused a sequence the tokenizer check let through: find which one, one at a time,
            // so the error names it and the records before it are still written.
            (results, failure) = await EncodeOneByOneAsync(chunk, encoder, sae, settings, progress, cancellationToken).ConfigureAwait(false);
        }

        for (var i = 0; i < chunk.Records.Count; i++)
        {
            var encoded = results[i];
            if (encoded is null) continue;
            var record = chunk.Records[i];
            if (encoded.Residues.Length != encoded.Length)
                throw new InvalidOperationException($"the encoder returned {encoded.Residues.Length} residue rows for record '{record.Id}' of length {encoded.Length}");
            IReadOnlyList<FeatureActivation[]> residues = encoded.Residues;
            IReadOnlyList<PooledActivation> pooled = encoded.Pooled;
            if (normalization is not null)
            {
                residues = encoded.Residues.Select(row => FeatureMath.Normalize(row, normalization.Stats)).ToArray();
                pooled = FeatureMath.Normalize(encoded.Pooled, normalization.Stats);
            }
            var line = FeatureJsonLines.Format(record.Id, sae.Id, normalization is not null, residues, pooled,
                normalization?.Source, settings.UnknownAsUnk ? encoded.UnknownTokens : null);
            await output.WriteAsync(line.AsMemory(), cancellationToken).ConfigureAwait(false);
            await output.WriteAsync("\n".AsMemory(), cancellationToken).ConfigureAwait(false);
            progress.Encoded(encoded.Length);
        }
        if (failure is not null) throw new InvalidRecordException(failure);
    }

    private static async Task<(IReadOnlyList<EncodedSequence?> Results, string? Failure)> EncodeOneByOneAsync(
        Chunk chunk, IFeatureEncoder encoder, SaeDescriptor sae, Settings settings, Progress progress, CancellationToken cancellationToken)
    {
        var results = new EncodedSequence?[chunk.Records.Count];
        for (var i = 0; i < chunk.Records.Count; i++)
        {
            var record = chunk.Records[i];
            try
            {
                results[i] = (await encoder.EncodeAsync(sae.Id, [record.Sequence], cancellationToken).ConfigureAwait(false))[0];
            }
            catch (InvalidSequenceException ex)
            {
                var reason = $"{settings.FastaPath}: record {record.RecordNumber} ('{record.Id}'): {ex.Message}";
                if (!settings.SkipInvalid) return (results, reason);
                progress.Skipped(reason);
            }
        }
        return (results, null);
    }

    private sealed class Chunk
    {
        public List<ProteinRecord> Records { get; } = [];
        public int Tokens { get; private set; }
        public Task<IReadOnlyList<EncodedSequence>> Task { get; private set; } = System.Threading.Tasks.Task.FromResult<IReadOnlyList<EncodedSequence>>([]);

        public void Add(ProteinRecord record)
        {
            Records.Add(record);
            Tokens += record.Sequence.Length + 2;
        }

        public Chunk Submit(IFeatureEncoder encoder, string saeId, CancellationToken cancellationToken)
        {
            if (Records.Count > 0)
                Task = SubmitWithRetryAsync(encoder, saeId, Records.Select(r => r.Sequence).ToArray(), cancellationToken);
            return this;
        }

        private static async Task<IReadOnlyList<EncodedSequence>> SubmitWithRetryAsync(
            IFeatureEncoder encoder, string saeId, string[] sequences, CancellationToken cancellationToken)
        {
            // The worker's queue is shared with nobody here, but a small one can still be full: wait, don't fail.
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    return await encoder.EncodeAsync(saeId, sequences, cancellationToken).ConfigureAwait(false);
                }
                catch (OverloadedException) when (attempt < 200)
                {
                    await System.Threading.Tasks.Task.Delay(50, cancellationToken).ConfigureAwait(false);
                }
            }
        }
    }

    private sealed class Progress(TextWriter stderr, bool quiet)
    {
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private TimeSpan _lastReport;

        public int Records { get; private set; }
        public long Residues { get; private set; }
        public int SkippedCount { get; private set; }

        public void Encoded(int residues)
        {
            Records++;
            Residues += residues;
            if (quiet || _clock.Elapsed - _lastReport < ProgressInterval) return;
            _lastReport = _clock.Elapsed;
            stderr.WriteLine($"esmc encode: {Records} records, {Residues} residues, {Rate():F0} residues/s");
        }

        /// <summary>Why the last record was refused (set by <see cref="Prepare"/>).</summary>
        public string? LastRefusal { get; set; }

        public void Warn(string warning)
        {
            if (!quiet) stderr.WriteLine($"esmc encode: warning: {warning}");
        }

        public void Skipped(string reason)
        {
            SkippedCount++;
            stderr.WriteLine($"esmc encode: skipped {reason}");
        }

        public void Finished()
        {
            if (quiet) return;
            var skipped = SkippedCount > 0 ? $"; skipped {SkippedCount} invalid record{(SkippedCount == 1 ? "" : "s")}" : "";
            stderr.WriteLine($"esmc encode: encoded {Records} records ({Residues} residues) in {_clock.Elapsed.TotalSeconds:F1} s, {Rate():F0} residues/s{skipped}");
        }

        private double Rate() => Residues / Math.Max(_clock.Elapsed.TotalSeconds, 1e-9);
    }

    private sealed record Settings(
        string ModelDirectory, string SaeDirectory, int Layer, string FastaPath, bool Normalize, string? OutPath,
        bool SkipInvalid, int MaxTokens, string Device, string? StatsPath, bool Quiet, bool UnknownAsUnk)
    {
        public static Settings From(ParsedArguments args)
        {
            var model = ExistingDirectory(args.Required("model"), "--model", "ESMC checkpoint folder");
            var sae = ExistingDirectory(args.Required("sae"), "--sae", "SAE repo folder");
            var fasta = args.Required("fasta");
            if (Directory.Exists(fasta)) throw new UsageException($"--fasta '{fasta}' is a directory, not a FASTA file");
            if (!File.Exists(fasta)) throw new FileNotFoundException($"--fasta file '{fasta}' does not exist", fasta);
            var stats = args.Value("stats");
            if (stats is not null && !args.Flag("normalize"))
                throw new UsageException("--stats only applies together with --normalize");
            var outPath = args.Value("out");
            if (outPath is not null)
            {
                if (Path.GetFullPath(outPath) == Path.GetFullPath(fasta))
                    throw new UsageException($"--out '{outPath}' is the input file");
                var folder = Path.GetDirectoryName(Path.GetFullPath(outPath));
                if (folder is not null && !Directory.Exists(folder))
                    throw new DirectoryNotFoundException($"the folder of --out '{outPath}' does not exist");
            }
            var device = args.Value("device") ?? "auto";
            try { Inference.TorchSharp.Runtime.DeviceSelector.Parse(device); }
            catch (ArgumentException) { throw new UsageException($"--device must be auto, cpu, cuda or cuda:N; got '{device}'"); }
            return new Settings(
                model, sae, args.Int("layer", 0, 10_000)!.Value, fasta, args.Flag("normalize"), outPath,
                args.Flag("skip-invalid"), args.Int("max-tokens", 3, 1 << 20) ?? 2048, device, stats, args.Flag("quiet"), args.Flag("unknown-as-unk"));
        }

        private static string ExistingDirectory(string path, string option, string what)
        {
            if (File.Exists(path)) throw new UsageException($"{option} '{path}' is a file; expected the {what}");
            if (!Directory.Exists(path)) throw new DirectoryNotFoundException($"{option} folder '{path}' does not exist");
            return path;
        }
    }
}
