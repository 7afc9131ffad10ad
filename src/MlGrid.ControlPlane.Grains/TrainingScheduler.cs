using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using MlGrid.Contracts;

namespace MlGrid.ControlPlane.Grains;

/// <summary>
/// Places queued training jobs on workers with a free training slot (GPU jobs only on GPU workers, CPU jobs on
/// CPU-only workers first) and watches running ones: an attempt whose worker left the cluster, or whose worker no
/// longer holds it, is reported lost so the job retries elsewhere. It keeps no state of its own: each pass reads the
/// job catalog and the cluster, so a restarted control plane picks up where the last one stopped. Every control-plane
/// silo may run one; a job starts at most once per attempt because the job grain decides, one call at a time.
/// </summary>
public sealed class TrainingScheduler(
    IGrainFactory grains,
    IWorkerCatalog workers,
    IHostApplicationLifetime lifetime,
    ILogger<TrainingScheduler> logger) : BackgroundService
{
    /// <summary>How often the scheduler looks; also the longest a queued job waits for a slot that is free.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    /// <summary>Sweeps are looked at every this many passes, in case a trial's notice was lost.</summary>
    private const int SweepReconcileEvery = 5;

    /// <summary>A waiting reason is told again after this long, in case the job's grain was deactivated and forgot it.</summary>
    private static readonly TimeSpan WaitingRetell = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, (string Reason, DateTimeOffset Told)> _waiting = new(StringComparer.Ordinal);
    private bool _repaired;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }

        using var timer = new PeriodicTimer(Period);
        for (var pass = 0L; await timer.WaitForNextTickAsync(stoppingToken); pass++)
        {
            try
            {
                await PassAsync(pass, stoppingToken);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                logger.LogWarning(ex, "Training scheduler pass failed; trying again in {Period}", Period);
            }
        }
    }

    /// <summary>One look at every queued and running job.</summary>
    public async Task PassAsync(long pass, CancellationToken cancellationToken)
    {
        var catalog = grains.GetGrain<ITrainingJobCatalogGrain>(ITrainingJobCatalogGrain.Key);
        var active = await catalog.Active();
        if (!_repaired)
        {
            active = await RepairAsync(catalog, active);
            _repaired = true;
        }

        var live = workers.LiveWorkers();
        var running = active.Where(j => j.Status == TrainingJobStatuses.Running && !j.IsSweep && j.Worker is not null).ToList();
        await WatchRunningAsync(running);

        if (pass % SweepReconcileEvery == 0)
        {
            foreach (var sweep in active.Where(j => j.IsSweep && j.Status == TrainingJobStatuses.Running))
            {
                await grains.GetGrain<ITrainingJobGrain>(sweep.Id).Reconcile();
            }
        }

        var free = live.ToDictionary(
            w => w.Id,
            w => w.TrainingSlots - running.Count(j => j.Worker == w.Id),
            StringComparer.Ordinal);
        foreach (var job in active.Where(j => j.Status == TrainingJobStatuses.Queued && !j.IsSweep))
        {
            cancellationToken.ThrowIfCancellationRequested();
            var candidates = live
                .Where(w => free[w.Id] > 0 && (job.Device != Devices.Gpu || w.HasGpu))
                .OrderBy(w => job.ExcludedWorkers.Contains(w.Id))
                .ThenBy(w => job.Device != Devices.Gpu && w.HasGpu)
                .ThenByDescending(w => free[w.Id])
                .ToList();
            var placed = false;
            foreach (var worker in candidates)
            {
                if (await grains.GetGrain<ITrainingJobGrain>(job.Id).Start(worker.Id))
                {
                    free[worker.Id]--;
                    placed = true;
                    _waiting.Remove(job.Id);
                    logger.LogInformation("Training job {Job} started on worker {Worker}", job.Id, worker.Id);
                    break;
                }

                // The worker counts its own slots; one that refused is full for this pass.
                free[worker.Id] = 0;
            }

            if (!placed)
            {
                await NoteWaitingAsync(job, live);
            }
        }

        foreach (var gone in _waiting.Keys.Where(id => !active.Any(j => j.Id == id)).ToList())
        {
            _waiting.Remove(gone);
        }
    }

    private async Task WatchRunningAsync(IReadOnlyList<TrainingJobSummary> running)
    {
        foreach (var group in running.GroupBy(j => j.Worker!, StringComparer.Ordinal))
        {
            if (!workers.IsActive(group.Key))
            {
                foreach (var job in group)
                {
                    logger.LogWarning("Training job {Job}: worker {Worker} left the cluster during attempt {Attempt}", job.Id, group.Key, job.Attempt);
                    await grains.GetGrain<ITrainingJobGrain>(job.Id).AttemptLost(job.Attempt, $"worker {group.Key} left the cluster");
                }

                continue;
            }

            IReadOnlyList<TrainingAttemptRef> held;
            try
            {
                held = await grains.GetGrain<IWorkerGrain>(group.Key).TrainingAttempts().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception ex)
            {
                // Unreachable but still a member: membership will declare it dead, and the next passes act on that.
                logger.LogDebug(ex, "Worker {Worker} did not say which training attempts it holds", group.Key);
                continue;
            }

            foreach (var job in group.Where(j => !held.Contains(new TrainingAttemptRef(j.Id, j.Attempt))))
            {
                // The worker lists an attempt until its outcome is delivered, so one it does not list was lost (a
                // restarted process, say). The job ignores this if the attempt already ended.
                await grains.GetGrain<ITrainingJobGrain>(job.Id).AttemptLost(job.Attempt, $"worker {group.Key} no longer runs it");
            }
        }
    }

    /// <summary>Tells the job (and the log), once per reason, why it is not placed, so a person sees a GPU job waiting for a GPU worker.</summary>
    private async Task NoteWaitingAsync(TrainingJobSummary job, IReadOnlyList<WorkerInfo> live)
    {
        var reason = job.Device == Devices.Gpu && !live.Any(w => w.HasGpu)
            ? "no GPU worker is in the cluster; it starts when one joins"
            : live.All(w => w.TrainingSlots == 0)
                ? "no worker offers training slots (Worker__TrainingSlots)"
                : "every training slot is busy";
        var now = DateTimeOffset.UtcNow;
        var known = _waiting.TryGetValue(job.Id, out var last);
        if (!known || last.Reason != reason || now - last.Told > WaitingRetell)
        {
            if (!known || last.Reason != reason)
            {
                logger.LogInformation("Training job {Job} ({Device}) is waiting: {Reason}", job.Id, job.Device, reason);
            }

            _waiting[job.Id] = (reason, now);
            await grains.GetGrain<ITrainingJobGrain>(job.Id).Waiting(reason);
        }
    }

    /// <summary>Brings summaries that missed a change (the control plane stopped between a job's write and the catalog's) up to date.</summary>
    private async Task<IReadOnlyList<TrainingJobSummary>> RepairAsync(ITrainingJobCatalogGrain catalog, IReadOnlyList<TrainingJobSummary> active)
    {
        var repaired = new List<TrainingJobSummary>(active.Count);
        foreach (var summary in active)
        {
            var info = await grains.GetGrain<ITrainingJobGrain>(summary.Id).Get();
            if (info is null)
            {
                continue;
            }

            var current = TrainingJobSummaries.From(info);
            if (current.Status != summary.Status || current.Attempt != summary.Attempt || current.Worker != summary.Worker)
            {
                await catalog.Upsert(current);
            }

            if (!TrainingJobStatuses.IsFinal(current.Status))
            {
                repaired.Add(current);
            }
        }

        return repaired;
    }
}

public static class TrainingSchedulerExtensions
{
    /// <summary>Runs the training scheduler in this control-plane silo.</summary>
    public static IServiceCollection AddTrainingScheduler(this IServiceCollection services) =>
        services.AddHostedService<TrainingScheduler>();
}
