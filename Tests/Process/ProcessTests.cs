namespace Ingest.Tests.Process;

/// <summary>Tests that start silo processes of their own: one at a time (ports, CPU).</summary>
[CollectionDefinition(nameof(ProcessTests), DisableParallelization = true)]
public sealed class ProcessTests;
