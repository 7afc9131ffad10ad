namespace MlGrid.ControlPlane.Grains;

internal static class GrainStates
{
    /// <summary>
    /// Makes <paramref name="next"/> the grain's state and persists it; if the write fails the previous state is put
    /// back, so a grain never answers from a state that storage does not hold.
    /// </summary>
    public static async Task ReplaceAsync<T>(this IPersistentState<T> state, T next)
    {
        var previous = state.State;
        state.State = next;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State = previous;
            throw;
        }
    }
}
