using System.Globalization;

namespace MlGrid.Bench.Serving;

/// <summary>The run's results as Markdown tables, ready to paste into a README.</summary>
internal static class ReportTables
{
    private static readonly string[] CpuRoles = ["gateway", "worker", ProcessCpu.LoadGenerator, "controlplane", "storage", "orchestration", ProcessCpu.Other];

    public static void Print(
        TextWriter output, MachineInfo machine, IReadOnlyList<CheckResult> checks, BinarySupport? binary, CpuSplit? idle, IReadOnlyList<CodecCost> codecs, IReadOnlyList<Measurement> measurements,
        IReadOnlyList<GatewayOverhead> overheads, IReadOnlyList<TargetResult> targets, IReadOnlyList<string> warnings)
    {
        var w = new Writer(output);
        w.Line();
        w.Line($"## Serving benchmark ({machine.ProcessorCount} logical processors, {machine.Runtime})");
        w.Line();
        w.Line(machine.Note);
        w.Line();
        w.Line("Checks: " + string.Join("; ", checks.Select(c => $"{(c.Ok ? "ok" : "FAILED")} {c.Name}")));
        if (binary is { Supported: false })
        {
            w.Line($"Binary tensors: not supported by this server ({binary.Detail})");
        }

        w.Line();
        w.Line("| measurement | path | tensors | concurrency | req/s | mean ms | p50 ms | p95 ms | p99 ms | errors |");
        w.Line("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var m in measurements)
        {
            if (!m.Measured)
            {
                w.Line($"| {m.Id} | {m.Path} | {m.Encoding} | {m.Concurrency} | not measured: {m.Skipped} | | | | | |");
                continue;
            }

            w.Line($"| {m.Id} | {m.Path} | {m.Encoding} | {m.Concurrency} | {m.RequestsPerSecond:N1} | {Ms(m.Latency.MeanMs)} | {Ms(m.Latency.P50Ms)} | {Ms(m.Latency.P95Ms)} | {Ms(m.Latency.P99Ms)} | {m.Errors}{(m.WarmupErrors > 0 ? $" (+{m.WarmupErrors} in warm-up)" : "")} |");
        }

        var withCpu = measurements.Where(m => m.Cpu is not null).ToList();
        if (withCpu.Count > 0)
        {
            w.Line();
            w.Line("CPU per successful request, in µs, by process (from /proc utime+stime over each window); `other` is the rest of the machine; cores = CPU seconds per wall second.");
            w.Line();
            w.Line($"| measurement | {string.Join(" | ", CpuRoles)} | cores busy (ours / machine) |");
            w.Line($"| --- | {string.Join(" | ", CpuRoles.Select(_ => "---:"))} | ---: |");
            foreach (var m in withCpu)
            {
                var shares = m.Cpu!.Shares.ToDictionary(s => s.Role);
                var cells = CpuRoles.Select(r => shares.TryGetValue(r, out var s) ? s.MicrosecondsPerRequest.ToString("N0", CultureInfo.InvariantCulture) : "");
                var ours = m.Cpu.Shares.Where(s => s.Role != ProcessCpu.Other).Sum(s => s.Cores);
                var all = m.Cpu.Shares.Sum(s => s.Cores);
                w.Line($"| {m.Id} | {string.Join(" | ", cells)} | {ours:N2} / {all:N2} |");
            }

            if (idle is not null)
            {
                var shares = idle.Shares.ToDictionary(s => s.Role);
                var cells = CpuRoles.Select(r => shares.TryGetValue(r, out var s) ? s.Cores.ToString("N2", CultureInfo.InvariantCulture) : "");
                w.Line($"| idle, no load (cores, not µs) | {string.Join(" | ", cells)} | {idle.Shares.Where(s => s.Role != ProcessCpu.Other).Sum(s => s.Cores):N2} / {idle.Shares.Sum(s => s.Cores):N2} |");
            }
        }

        if (codecs.Count > 0)
        {
            w.Line();
            w.Line("The worker's JSON work per request, timed alone in this process on one thread (its own OipJson and SignatureValidator):");
            w.Line();
            w.Line("| model | request bytes | parse + validate µs | response bytes | serialize µs |");
            w.Line("| --- | ---: | ---: | ---: | ---: |");
            foreach (var c in codecs)
            {
                w.Line($"| {c.Model} | {c.RequestBytes:N0} | {c.ParseMicroseconds:N0} | {c.ResponseBytes:N0} | {c.SerializeMicroseconds:N0} |");
            }
        }

        if (overheads.Count > 0)
        {
            w.Line();
            w.Line("Gateway overhead, tiny model, JSON: gateway latency minus direct-to-worker latency, µs.");
            w.Line();
            w.Line("| concurrency | mean | p50 | p99 | gateway CPU per request |");
            w.Line("| ---: | ---: | ---: | ---: | ---: |");
            foreach (var o in overheads)
            {
                w.Line($"| {o.Concurrency} | {o.MeanUs:N0} | {o.P50Us:N0} | {o.P99Us:N0} | {o.GatewayCpuUsPerRequest:N0} |");
            }
        }

        w.Line();
        w.Line("| target | goal | measured | status | margin |");
        w.Line("| --- | --- | ---: | --- | --- |");
        foreach (var t in targets)
        {
            var value = t.Value is { } v ? $"{v.ToString(v >= 100 ? "N0" : "N2", CultureInfo.InvariantCulture)} {t.Unit}" : "";
            w.Line($"| {t.Description} | {t.Goal} | {value} | {t.Status} | {t.Margin} |");
        }

        var explained = targets.Where(t => t.WhereTimeGoes is not null).ToList();
        if (explained.Count > 0)
        {
            w.Line();
            w.Line("Where the time goes (CPU per request by process over the target's window):");
            foreach (var t in explained)
            {
                w.Line($"- {t.Id} ({t.Status}): {t.WhereTimeGoes}");
            }
        }

        if (warnings.Count > 0)
        {
            w.Line();
            w.Line("Warnings:");
            foreach (var warning in warnings)
            {
                w.Line($"- {warning}");
            }
        }

        w.Line();
    }

    private static string Ms(double value) => value.ToString(value >= 100 ? "N1" : "N3", CultureInfo.InvariantCulture);

    /// <summary>Writes lines with invariant number formatting.</summary>
    private sealed class Writer(TextWriter output)
    {
        public void Line() => output.WriteLine();

        public void Line(FormattableString line) => output.WriteLine(line.ToString(CultureInfo.InvariantCulture));

        public void Line(string line) => output.WriteLine(line);
    }
}
