using MlGrid.Contracts;

namespace MlGrid.Gateway.Auth;

/// <summary>The API keys this gateway checks callers against: swapped whole, never mutated, kept when the control plane is away.</summary>
public sealed class KeyRingState
{
    private readonly Lock _lock = new();
    private volatile KeyRing? _ring;

    /// <summary>Null until the first ring arrives: until then only the bootstrap admin key is known.</summary>
    public KeyRing? Ring => _ring;

    /// <summary>Takes a newer ring; older or equal versions (late or repeated pushes) are ignored.</summary>
    public bool TryUpdate(KeyRing ring)
    {
        // Pushes and polls race: compare and swap as one step so a revocation is never undone by a late older ring.
        lock (_lock)
        {
            if (_ring is { } current && ring.Version <= current.Version)
            {
                return false;
            }

            _ring = ring;
            return true;
        }
    }

    public ApiKeyRecord? Find(string keyId) => _ring?.Keys.GetValueOrDefault(keyId);
}
