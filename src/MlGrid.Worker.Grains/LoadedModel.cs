using MlGrid.Inference;

namespace MlGrid.Worker.Grains;

/// <summary>
/// A session shared by the replicas of one model version on one device. Requests hold a lease while they run;
/// the session is disposed only when no replica uses it and the last running request has finished.
/// </summary>
public sealed class LoadedModel(OnnxModel model)
{
    private int _activeRuns;
    private int _retired;
    private int _disposed;

    public OnnxModel Model { get; } = model;

    /// <summary>Replicas using this session; changed only under the model host's lock.</summary>
    internal int References { get; set; } = 1;

    /// <summary>A lease for one request, or null when the session is being retired.</summary>
    public Lease? TryLease()
    {
        Interlocked.Increment(ref _activeRuns);
        if (Volatile.Read(ref _retired) == 0)
        {
            return new Lease(this);
        }

        Exit();
        return null;
    }

    internal void Retire()
    {
        Volatile.Write(ref _retired, 1);
        if (Volatile.Read(ref _activeRuns) == 0)
        {
            DisposeOnce();
        }
    }

    private void Exit()
    {
        if (Interlocked.Decrement(ref _activeRuns) == 0 && Volatile.Read(ref _retired) == 1)
        {
            DisposeOnce();
        }
    }

    private void DisposeOnce()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            Model.Dispose();
        }
    }

    public sealed class Lease(LoadedModel owner) : IDisposable
    {
        private int _released;

        public OnnxModel Model => owner.Model;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Exit();
            }
        }
    }
}
