using System.Net;
using System.Net.Sockets;

namespace MlGrid.Testing;

/// <summary>Waiting on a running system from outside it: conditions polled until true, and free local ports.</summary>
public static class Polling
{
    /// <summary>
    /// Polls <paramref name="condition"/> every 250 ms until it holds; connection errors count as "not yet" until the
    /// deadline. Throws <see cref="TimeoutException"/> with <paramref name="describe"/>'s text when time runs out.
    /// </summary>
    public static async Task WaitUntilAsync(
        Func<Task<bool>> condition, TimeSpan timeout, Func<string>? describe = null, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException(describe?.Invoke() ?? $"Condition not met within {timeout}.");
            }

            await Task.Delay(250, cancellationToken);
        }
    }

    /// <summary>A TCP port on the loopback interface that nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
