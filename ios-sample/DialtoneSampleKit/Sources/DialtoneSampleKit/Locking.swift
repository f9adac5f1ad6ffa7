// A lock helper under our own name, so it means the same on every Foundation.
import Foundation

extension NSLock {
    func sync<T>(_ body: () throws -> T) rethrows -> T {
        lock()
        defer { unlock() }
        return try body()
    }
}
