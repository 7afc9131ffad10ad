using System.Globalization;

namespace MlGrid.Bench.Serving;

/// <summary>CPU time of one group of processes over one measurement.</summary>
internal sealed record CpuShare(string Role, double CpuSeconds, double MicrosecondsPerRequest, double Cores);

/// <summary>
/// Where the machine's CPU went during one measurement: per process group (gateway, worker, load generator, …), per
/// successful request, and in cores used; <c>other</c> is what the rest of the machine used meanwhile.
/// </summary>
internal sealed record CpuSplit(double WallSeconds, long Requests, IReadOnlyList<CpuShare> Shares);

/// <summary>
/// Reads process CPU time (utime + stime) from /proc for the processes the AppHost started under this one, grouped by
/// role, and the machine's busy time from /proc/stat. Linux only; elsewhere <see cref="IsAvailable"/> is false.
/// </summary>
internal sealed class ProcessCpu
{
    public const string LoadGenerator = "loadgen";
    public const string Other = "other";

    /// <summary>USER_HZ: the unit of /proc times, 100 on every Linux architecture .NET runs on.</summary>
    private const double TicksPerSecond = 100.0;

    private readonly Dictionary<string, List<int>> _roles;

    private ProcessCpu(Dictionary<string, List<int>> roles) => _roles = roles;

    public static bool IsAvailable => OperatingSystem.IsLinux() && File.Exists("/proc/stat");

    public IReadOnlyDictionary<string, List<int>> Roles => _roles;

    /// <summary>Finds the processes started for this one (directly or by the orchestrator) and names them by what they run.</summary>
    public static ProcessCpu Discover()
    {
        var self = Environment.ProcessId;
        var parents = new Dictionary<int, int>();
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && TryReadStat(pid, out var parent, out _))
            {
                parents[pid] = parent;
            }
        }

        // The orchestrator (dcp) detaches from this process and watches it with `--monitor <pid>`; what it starts descends from it.
        var roots = new HashSet<int> { self };
        foreach (var pid in parents.Keys)
        {
            var arguments = ReadCommandLine(pid);
            var monitor = Array.IndexOf(arguments, "--monitor");
            if (monitor >= 0 && monitor + 1 < arguments.Length && arguments[monitor + 1] == self.ToString(CultureInfo.InvariantCulture))
            {
                roots.Add(pid);
            }
        }

        var roles = new Dictionary<string, List<int>>();
        foreach (var pid in parents.Keys)
        {
            if (pid == self || !(roots.Contains(pid) || roots.Any(root => IsDescendant(pid, root, parents))))
            {
                continue;
            }

            var role = Classify(ReadCommandLine(pid));
            if (!roles.TryGetValue(role, out var pids))
            {
                roles[role] = pids = [];
            }

            pids.Add(pid);
        }

        return new ProcessCpu(roles);
    }

    public Snapshot Take()
    {
        var perRole = new Dictionary<string, double>();
        foreach (var (role, pids) in _roles)
        {
            perRole[role] = pids.Sum(pid => TryReadStat(pid, out _, out var ticks) ? ticks / TicksPerSecond : 0);
        }

        perRole[LoadGenerator] = TryReadStat(Environment.ProcessId, out _, out var own) ? own / TicksPerSecond : 0;
        return new Snapshot(perRole, MachineBusySeconds(), System.Diagnostics.Stopwatch.GetTimestamp());
    }

    public static CpuSplit Between(Snapshot before, Snapshot after, long requests)
    {
        var wall = (after.Timestamp - before.Timestamp) / (double)System.Diagnostics.Stopwatch.Frequency;
        var shares = new List<CpuShare>();
        var ours = 0.0;
        foreach (var (role, seconds) in after.Roles)
        {
            var used = Math.Max(0, seconds - before.Roles.GetValueOrDefault(role));
            ours += used;
            shares.Add(Share(role, used, requests, wall));
        }

        shares.Add(Share(Other, Math.Max(0, after.MachineBusySeconds - before.MachineBusySeconds - ours), requests, wall));
        return new CpuSplit(wall, requests, shares.OrderBy(s => Order(s.Role)).ToList());
    }

    /// <summary>CPU seconds per role at one instant, with the machine's busy seconds and a Stopwatch timestamp.</summary>
    internal sealed record Snapshot(IReadOnlyDictionary<string, double> Roles, double MachineBusySeconds, long Timestamp);

    private static CpuShare Share(string role, double seconds, long requests, double wall) =>
        new(role, seconds, requests > 0 ? seconds * 1e6 / requests : 0, wall > 0 ? seconds / wall : 0);

    private static int Order(string role) => role switch
    {
        "gateway" => 0,
        "worker" => 1,
        LoadGenerator => 2,
        "controlplane" => 3,
        "storage" => 4,
        "orchestration" => 5,
        _ => 6,
    };

    /// <summary>
    /// The role of a process by its command line. The AppHost may start a project through <c>dotnet run</c>, whose
    /// launcher process names the .csproj: that one is orchestration, the app it starts is the role.
    /// </summary>
    private static string Classify(string[] arguments)
    {
        var program = arguments.Length > 0 ? Path.GetFileName(arguments[0]) : "";
        bool Runs(string project) =>
            program == project || arguments.Any(a => Path.GetFileName(a) == project + ".dll");

        if (Runs("MlGrid.Gateway"))
        {
            return "gateway";
        }

        if (Runs("MlGrid.Worker"))
        {
            return "worker";
        }

        if (Runs("MlGrid.ControlPlane"))
        {
            return "controlplane";
        }

        return arguments.Any(a => a.Contains("azurite", StringComparison.OrdinalIgnoreCase)) ? "storage" : "orchestration";
    }

    private static bool IsDescendant(int pid, int ancestor, Dictionary<int, int> parents)
    {
        for (var depth = 0; depth < 64 && parents.TryGetValue(pid, out var parent); depth++)
        {
            if (parent == ancestor)
            {
                return true;
            }

            pid = parent;
        }

        return false;
    }

    private static string[] ReadCommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>The parent pid and utime + stime (in ticks) from /proc/&lt;pid&gt;/stat.</summary>
    private static bool TryReadStat(int pid, out int parent, out long cpuTicks)
    {
        parent = 0;
        cpuTicks = 0;
        string text;
        try
        {
            text = File.ReadAllText($"/proc/{pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }

        // The command name (field 2) is in parentheses and may hold spaces; fields from 3 on follow the last ')'.
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        if (fields.Length < 13)
        {
            return false;
        }

        parent = int.Parse(fields[1], CultureInfo.InvariantCulture);
        cpuTicks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>All CPUs' busy time: user + nice + system + irq + softirq + steal from the first line of /proc/stat.</summary>
    private static double MachineBusySeconds()
    {
        var line = File.ReadLines("/proc/stat").First();
        var values = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(v => long.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        var busy = values[0] + values[1] + values[2] + values[5] + values[6] + (values.Length > 7 ? values[7] : 0);
        return busy / TicksPerSecond;
    }
}
