using EsmcFeaturePlatform.Cli;

using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // First Ctrl+C stops cleanly (output so far is flushed); a second one kills the process as usual.
    if (interrupt.IsCancellationRequested) return;
    e.Cancel = true;
    interrupt.Cancel();
};
return await Cli.RunAsync(args, Console.Out, Console.Error, interrupt.Token);
