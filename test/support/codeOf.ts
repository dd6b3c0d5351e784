/** The `code` of the error `fn` throws, or "none": for tests of rules that refuse by throwing an AppError. */
export const codeOf = (fn: () => void): string => {
    try {
        fn();
    } catch (e) {
        return (e as { code: string }).code;
    }
    return "none";
};
